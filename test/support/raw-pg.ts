import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { DatabaseError, serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';

/**
 * A minimal PostgreSQL wire client for tests that need messages no driver sends in that order (e.g. an Execute of a
 * cursor declared in SQL): TLS, token login, then raw message round trips up to ReadyForQuery.
 */
export class RawPgClient {
  readonly #socket: Socket;
  readonly #parser = new Parser();
  #pending: BackendMessage[] = [];
  #waiter: ((msgs: BackendMessage[]) => void) | null = null;
  #onPassword: (() => void) | null = null;
  readonly #closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) =>
      socket.once('close', () => {
        // A round trip the gateway ended (e.g. with a FATAL) resolves with what arrived, instead of hanging.
        const w = this.#waiter;
        this.#waiter = null;
        w?.(this.#pending.splice(0));
        resolve();
      }),
    );
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) =>
      this.#parser.parse(chunk, (m) => {
        this.#pending.push(m);
        if (m.name === 'authenticationCleartextPassword') this.#onPassword?.();
        if (m.name === 'readyForQuery' && this.#waiter) {
          const w = this.#waiter;
          const out = this.#pending;
          this.#waiter = null;
          this.#pending = [];
          w(out);
        }
      }),
    );
  }

  /** `localAddress`: the client's own address (a loopback address other than 127.0.0.1, to tell it apart). */
  static async connect(
    port: number,
    database: string,
    token: string,
    opts: { localAddress?: string } = {},
  ): Promise<RawPgClient> {
    const tcp = connect({ host: '127.0.0.1', port, ...opts });
    await new Promise<void>((resolve, reject) => {
      tcp.once('connect', resolve);
      tcp.once('error', reject);
    });
    tcp.write(serialize.requestSsl());
    const answer = await new Promise<Buffer>((resolve) => tcp.once('data', resolve));
    if (answer.toString('latin1') !== 'S') throw new Error('the gateway refused TLS');
    const tls = tlsConnect({ socket: tcp, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve);
      tls.once('error', reject);
    });
    const client = new RawPgClient(tls);
    const login = client.#untilReady();
    // The only question during login is the cleartext password (the token).
    client.#onPassword = () => tls.write(serialize.password(token));
    tls.write(serialize.startup({ user: 'gatehouse', database }));
    const loggedIn = await login;
    if (loggedIn.at(-1)?.name !== 'readyForQuery') {
      const error = loggedIn.find((m) => m instanceof DatabaseError);
      throw new Error(`login refused: ${error ? `${error.code} ${error.message}` : 'connection closed'}`);
    }
    return client;
  }

  #untilReady(): Promise<BackendMessage[]> {
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  /** Writes `messages` and resolves with every server message up to the next ReadyForQuery. */
  send(...messages: Buffer[]): Promise<BackendMessage[]> {
    const done = this.#untilReady();
    this.#socket.write(Buffer.concat(messages));
    return done;
  }

  /** Writes raw bytes (a malformed or oversized message) without waiting for an answer. */
  write(bytes: Buffer): void {
    this.#socket.write(bytes);
  }

  /** Resolves once the gateway closed the connection, with the messages received since the last round trip. */
  async closed(): Promise<BackendMessage[]> {
    await this.#closed;
    return this.#pending;
  }

  close(): void {
    this.#socket.end(serialize.end());
  }
}
