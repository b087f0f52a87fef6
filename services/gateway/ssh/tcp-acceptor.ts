import { createServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';

/** A TCP connection not yet logged in: its auth timer runs from accept, before the SSH identification line. */
export type PendingLogin = {
  socket: Socket;
  timer: NodeJS.Timeout;
  clientAddr: string;
  /** The last SSH user name (connection) the client tried. */
  username: string;
  /** The client's identification line arrived. */
  identified: boolean;
  clientVersion: string;
  /** Cancels the SSH-level login in progress (set once ssh2 reports the connection). */
  cancel?: () => void;
};

export type TcpAcceptorOptions = {
  /** Time from TCP accept to a successful login. */
  authTimeoutMs: number;
  /** A hard bound on TCP connections, logged in or not. */
  maxConnections: number;
  log: Logger;
  /** Hands an accepted socket to the SSH server. */
  onSocket: (socket: Socket) => void;
  /** A connection's auth timer ran out; the acceptor destroys its socket after this returns. */
  onTimeout: (pending: PendingLogin) => void;
};

/**
 * The raw TCP side of the SSH listener. It accepts sockets itself and hands them to ssh2, so the auth timer starts
 * at accept: ssh2 reports a connection only once its identification line arrived, and a client that never sends one
 * would otherwise be held forever.
 */
export class TcpAcceptor {
  readonly #o: TcpAcceptorOptions;
  readonly #tcp: NetServer;
  /** TCP connections not yet logged in, by "ip:port". */
  readonly #pending = new Map<string, PendingLogin>();

  constructor(opts: TcpAcceptorOptions) {
    this.#o = opts;
    this.#tcp = createServer((socket) => this.#accept(socket));
    this.#tcp.maxConnections = opts.maxConnections;
    this.#tcp.on('error', (err: Error) => logError(opts.log, err, 'ssh listener error'));
  }

  /** Resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#tcp.once('error', reject);
      this.#tcp.listen(port, host, () => {
        this.#tcp.off('error', reject);
        const address = this.#tcp.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting; open connections stay. */
  close(): Promise<void> {
    return new Promise((resolve) => this.#tcp.close(() => resolve()));
  }

  /** The pending login of the TCP connection from `clientAddr` ("ip:port"), if it is still open and not timed out. */
  pending(clientAddr: string): PendingLogin | undefined {
    return this.#pending.get(clientAddr);
  }

  /** The connection logged in: its auth timer stops. */
  loggedIn(pending: PendingLogin): void {
    clearTimeout(pending.timer);
    this.#pending.delete(pending.clientAddr);
  }

  #accept(socket: Socket): void {
    const clientAddr = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.on('error', () => socket.destroy());
    const pending: PendingLogin = {
      socket,
      clientAddr,
      username: '',
      identified: false,
      clientVersion: '',
      timer: setTimeout(() => {
        this.#pending.delete(clientAddr);
        pending.cancel?.();
        this.#o.onTimeout(pending);
        socket.destroy();
      }, this.#o.authTimeoutMs),
    };
    this.#pending.set(clientAddr, pending);
    socket.once('close', () => {
      clearTimeout(pending.timer);
      if (this.#pending.get(clientAddr) === pending) this.#pending.delete(clientAddr);
    });
    this.#o.onSocket(socket);
  }
}
