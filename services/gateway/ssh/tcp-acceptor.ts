import { createServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import type { ProxyProtocolConfig } from '../proxy-protocol/proxy-config.js';
import { clientBehind } from '../proxy-protocol/read-proxy-header.js';

/** A TCP connection not yet logged in: its auth timer runs from accept, before the SSH identification line. */
export type PendingLogin = {
  socket: Socket;
  timer: NodeJS.Timeout;
  /** The TCP peer, "ip:port" (the balancer's, behind one). */
  peer: string;
  /** The client, "ip:port": the peer, or the source its PROXY protocol header named. */
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
  /** Behind a balancer: trusted peers send a PROXY protocol v2 header first. */
  proxyProtocol?: ProxyProtocolConfig | undefined;
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
  /** TCP connections not yet logged in, by peer "ip:port". */
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

  /** The pending login of the TCP connection from `peer` ("ip:port"), if it is still open and not timed out. */
  pending(peer: string): PendingLogin | undefined {
    return this.#pending.get(peer);
  }

  /** The connection logged in: its auth timer stops. */
  loggedIn(pending: PendingLogin): void {
    clearTimeout(pending.timer);
    this.#pending.delete(pending.peer);
  }

  #accept(socket: Socket): void {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.on('error', () => socket.destroy());
    const pending: PendingLogin = {
      socket,
      peer,
      clientAddr: peer,
      username: '',
      identified: false,
      clientVersion: '',
      timer: setTimeout(() => {
        this.#pending.delete(peer);
        pending.cancel?.();
        this.#o.onTimeout(pending);
        socket.destroy();
      }, this.#o.authTimeoutMs),
    };
    this.#pending.set(peer, pending);
    socket.once('close', () => {
      clearTimeout(pending.timer);
      if (this.#pending.get(peer) === pending) this.#pending.delete(peer);
    });
    if (!this.#o.proxyProtocol) {
      this.#o.onSocket(socket);
      return;
    }
    // Behind a balancer: the client is the one its PROXY header names (read, then the socket resumes).
    clientBehind(socket, this.#o.proxyProtocol).then(
      ({ address, proxied }) => {
        if (socket.destroyed) return;
        pending.clientAddr = `${address.address}:${address.port}`;
        this.#o.onSocket(socket);
        if (proxied) socket.resume();
      },
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        this.#o.log.warn({ peer, reason }, 'PROXY protocol header refused; connection closed');
        socket.destroy();
      },
    );
  }
}
