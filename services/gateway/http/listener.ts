import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { bearerChallenge, bearerToken } from '../../shared/web-login/bearer-auth.js';
import type { Identity } from '../../shared/identity/index.js';
import type { Logger } from '../../shared/logger.js';
import type { LoginRefusals } from '../login-audit/index.js';
import { bearerLogin } from '../login-audit/index.js';
import type { HttpAuditSessions } from './audit-sessions.js';
import { TooManySessionsError } from './audit-sessions.js';
import type { HttpListenerConfig } from './config.js';
import { ExchangeAbort } from './exchange-abort.js';
import { sendAnswer } from './gateway-answers.js';
import { runExchange } from './proxy-exchange.js';
import { HttpRequestCache } from './http-request.js';
import type { RequestBody } from './request-body.js';
import { readRequestBody, RequestBodyTooLargeError } from './request-body.js';
import type { HttpUpstream } from './upstream.js';
import { tokenDigest, VerifiedTokens } from './verified-tokens.js';

/** One `protocol: http` connection as the listener uses it. */
export type HttpConnection = {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly upstream: HttpUpstream;
};

export type HttpListenerDeps = {
  config: HttpListenerConfig;
  connections: ReadonlyMap<string, HttpConnection>;
  verifyToken: (token: string) => Promise<Identity>;
  sessions: HttpAuditSessions;
  log: Logger;
  refusals?: LoginRefusals | undefined;
  metrics?: { loginFailed(code: string): void };
};

type Authenticated = { connection: HttpConnection; identity: Identity; digest: string };

const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Where the path segment that starts at `from` ends: at the next `/` or `?`, or the end of `url`. */
function segmentEnd(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f) return i;
  }
  return url.length;
}

/** The first path segment of a request target, decoded (the connection's name); undefined when it does not decode. */
function connectionName(url: string): string | undefined {
  const from = url.startsWith('/') ? 1 : 0;
  const segment = url.slice(from, segmentEnd(url, from));
  if (!segment.includes('%')) return segment; // nothing to decode (the common case: no regex, no decoder)
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The HTTP reverse proxy: `<origin>/<connection>/<path>` reaches `<upstream url>/<path>`, on a plain `node:http`
 * (or `node:https`) server: every target is one route, so a framework's router, hooks and reply objects were only
 * per-request cost. Authentication runs before the body is read, so an unauthenticated client cannot make the
 * gateway buffer anything.
 */
export class HttpListener {
  readonly #d: HttpListenerDeps;
  readonly #server: Server;
  readonly #inflight = new Set<ExchangeAbort>();
  readonly #tokens: VerifiedTokens;
  readonly #requests: HttpRequestCache;
  /**
   * The last `Authorization` header each client connection sent, with its token and the token's sha256: keep-alive
   * clients repeat it on every request.
   */
  readonly #lastToken = new WeakMap<Socket, { header: string; token: string; digest: string }>();
  #stopping = false;

  constructor(d: HttpListenerDeps) {
    this.#d = d;
    this.#tokens = new VerifiedTokens({ maxAgeMs: d.config.tokenReuseMs, maxEntries: d.config.maxSessions });
    this.#requests = new HttpRequestCache(d.config.requestCacheEntries);
    const c = d.config;
    // Bodies stay unread here: the exchange reads them (bounded) or streams them (request-body.ts), so the upstream
    // gets exactly what the client sent. No request timeout: a request held for approval waits up to `maxHoldMs`; the
    // request head must still arrive within 60 s (Node's default, which `requestTimeout: 0` alone would turn off).
    const options = { keepAliveTimeout: 72_000, requestTimeout: 0, headersTimeout: 60_000 };
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    this.#server = c.tls
      ? createHttpsServer(
          { ...options, cert: readFileSync(c.tls.cert), key: readFileSync(c.tls.key) },
          handler,
        )
      : createHttpServer(options, handler);
  }

  listen(): Promise<number> {
    const server = this.#server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#d.config.port, this.#d.config.host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, waits for in-flight exchanges up to `drainMs`, then aborts them and closes the sessions. */
  async stop(drainMs: number): Promise<void> {
    this.#stopping = true;
    const closing = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const deadline = Date.now() + drainMs;
    while (this.#inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const a of this.#inflight) a.abort();
    this.#server.closeAllConnections();
    await closing;
    this.#d.sessions.closeAll('gateway stopping');
    await Promise.all([...this.#d.connections.values()].map((c) => c.upstream.close()));
  }

  /** One request; nothing thrown escapes (an unexpected failure is a 500, or a cut once the head went out). */
  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.#stopping) {
        sendAnswer(
          res,
          503,
          { error: 'stopping', message: 'gatehouse: this node is stopping' },
          { connection: 'close' },
        );
        return;
      }
      const auth = await this.#authenticate(req, res);
      if (auth) await this.#serve(req, res, auth);
    } catch (err) {
      this.#d.log.error(
        { err: { code: (err as { code?: string }).code, message: (err as Error).message } },
        'http listener error',
      );
      if (!res.headersSent) sendAnswer(res, 500, { error: 'internal', message: 'gatehouse: internal error' });
      else res.destroy();
    }
  }

  /** The request's connection and identity, or undefined once the client was answered (400, 404, 401). */
  async #authenticate(req: IncomingMessage, res: ServerResponse): Promise<Authenticated | undefined> {
    const d = this.#d;
    const name = connectionName(req.url ?? '/');
    if (name === undefined) {
      sendAnswer(res, 400, { error: 'bad_request', message: 'gatehouse: invalid request' });
      return undefined;
    }
    const connection = d.connections.get(name);
    if (!connection) {
      sendAnswer(res, 404, { error: 'unknown_connection', message: 'gatehouse: unknown connection' });
      return undefined;
    }
    const { token, digest } = this.#tokenOf(req.socket, single(req.headers.authorization));
    const login = { protocol: 'http', refusals: d.refusals, metrics: d.metrics } as const;
    const identity = await bearerLogin(login, {
      token,
      clientAddr: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`,
      connection,
      verify: (t) => this.#tokens.verify(t, d.verifyToken, digest),
      answer: (detail, tokenPresented) => {
        sendAnswer(
          res,
          401,
          { error: 'unauthorized', message: `gatehouse: ${detail}` },
          {
            'www-authenticate': bearerChallenge({
              realm: 'gatehouse',
              invalidToken: tokenPresented,
              description: detail,
            }),
          },
        );
      },
    });
    return identity && token !== undefined ? { connection, identity, digest } : undefined;
  }

  /**
   * The bearer token of an `Authorization` header and its sha256, parsed and hashed once per header value and client
   * connection (not for each of its requests).
   */
  #tokenOf(socket: Socket, header: string | undefined): { token: string | undefined; digest: string } {
    const last = this.#lastToken.get(socket);
    if (last !== undefined && last.header === header) return last;
    const token = bearerToken(header);
    if (token === undefined || header === undefined) return { token: undefined, digest: '' };
    const parsed = { header, token, digest: tokenDigest(token) };
    this.#lastToken.set(socket, parsed);
    return parsed;
  }

  async #serve(req: IncomingMessage, res: ServerResponse, auth: Authenticated): Promise<void> {
    const d = this.#d;
    const { connection, identity, digest } = auth;
    const raw = req.url ?? '/';
    const rest = raw.slice(raw.startsWith('/') ? segmentEnd(raw, 1) : 1);
    const target = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
    let body: RequestBody;
    try {
      body = await readRequestBody(
        req,
        req.headers,
        d.config.maxRequestBodyBytes,
        d.config.largeRequestBodies,
      );
    } catch (err) {
      if (!(err instanceof RequestBodyTooLargeError)) {
        res.destroy(); // the client failed mid-body: nobody to answer
        return;
      }
      sendAnswer(
        res,
        413,
        {
          error: 'body_too_large',
          message: `gatehouse: request body larger than ${d.config.maxRequestBodyBytes} bytes`,
        },
        { connection: 'close' },
      );
      return;
    }
    // A streamed body may stay partly unread (a refusal, a failed upstream): the connection then cannot carry
    // another request, so it closes after this answer.
    if (body.kind === 'streamed') res.shouldKeepAlive = false;
    let session;
    try {
      session = d.sessions.open(req.socket, digest, identity, connection, req.socket.remoteAddress ?? '', {
        user_agent: (single(req.headers['user-agent']) ?? '').slice(0, 255),
      });
    } catch (err) {
      const busy = err instanceof TooManySessionsError;
      d.log.warn({ err: { message: (err as Error).message } }, 'http session could not be opened');
      sendAnswer(res, 503, {
        error: busy ? 'too_many_sessions' : 'audit_unavailable',
        message: busy
          ? 'gatehouse: too many sessions on this node'
          : 'gatehouse: audit log unavailable: request not forwarded',
      });
      return;
    }
    const abort = new ExchangeAbort();
    this.#inflight.add(abort);
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      await runExchange({
        session,
        upstream: connection.upstream,
        incoming: {
          method: req.method ?? 'GET',
          target,
          headers: req.headers,
          body,
        },
        res,
        abort,
        config: d.config,
        requests: this.#requests,
      });
    } catch (err) {
      session.log.error(
        { err: { code: (err as { code?: string }).code, message: (err as Error).message } },
        'http exchange failed',
      );
      if (!res.headersSent) sendAnswer(res, 500, { error: 'internal', message: 'gatehouse: internal error' });
      else res.destroy();
    } finally {
      this.#inflight.delete(abort);
    }
  }
}
