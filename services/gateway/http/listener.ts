import { readFileSync } from 'node:fs';
import { bearerChallenge, bearerToken } from '../../shared/web-login/bearer-auth.js';
import type { AddressInfo } from 'node:net';
import { fastify } from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

/**
 * The HTTP reverse proxy: `<origin>/<connection>/<path>` reaches `<upstream url>/<path>`. Authentication runs
 * before the body is read (`onRequest`), so an unauthenticated client cannot make the gateway buffer anything.
 */
export class HttpListener {
  readonly #d: HttpListenerDeps;
  readonly #app: FastifyInstance;
  readonly #auth = new WeakMap<FastifyRequest, Authenticated>();
  readonly #inflight = new Set<ExchangeAbort>();
  readonly #tokens: VerifiedTokens;
  readonly #requests: HttpRequestCache;

  constructor(d: HttpListenerDeps) {
    this.#d = d;
    this.#tokens = new VerifiedTokens({ maxAgeMs: d.config.tokenReuseMs, maxEntries: d.config.maxSessions });
    this.#requests = new HttpRequestCache(d.config.requestCacheEntries);
    const c = d.config;
    const https = c.tls ? { cert: readFileSync(c.tls.cert), key: readFileSync(c.tls.key) } : null;
    this.#app = fastify({ logger: false, ...(https ? { https } : {}) });
    // Bodies stay unread here: the handler reads them (bounded) or streams them (request-body.ts), so the upstream
    // gets exactly what the client sent; policy parses JSON itself.
    this.#app.removeAllContentTypeParsers();
    this.#app.addContentTypeParser('*', (_req, _payload, done) => done(null));
    this.#app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
      const status = err.statusCode ?? 500;
      if (status >= 500)
        d.log.error({ err: { code: err.code, message: err.message } }, 'http listener error');
      sendAnswer(reply.raw, status, {
        error: status >= 500 ? 'internal' : 'bad_request',
        message: status >= 500 ? 'gatehouse: internal error' : 'gatehouse: invalid request',
      });
      reply.hijack();
    });
    this.#app.addHook('onRequest', async (req, reply) => this.#authenticate(req, reply));
    const handler = (req: FastifyRequest, reply: FastifyReply) => this.#serve(req, reply);
    this.#app.all('/:connection', handler);
    this.#app.all('/:connection/*', handler);
  }

  async listen(): Promise<number> {
    await this.#app.listen({ host: this.#d.config.host, port: this.#d.config.port });
    return (this.#app.server.address() as AddressInfo).port;
  }

  /** Stops accepting, waits for in-flight exchanges up to `drainMs`, then aborts them and closes the sessions. */
  async stop(drainMs: number): Promise<void> {
    const closing = this.#app.close();
    const deadline = Date.now() + drainMs;
    while (this.#inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const a of this.#inflight) a.abort();
    await closing;
    this.#d.sessions.closeAll('gateway stopping');
    await Promise.all([...this.#d.connections.values()].map((c) => c.upstream.close()));
  }

  async #authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const d = this.#d;
    const name = decodeURIComponent((req.url.split('?')[0] ?? '').split('/')[1] ?? '');
    const connection = d.connections.get(name);
    if (!connection) {
      sendAnswer(reply.raw, 404, { error: 'unknown_connection', message: 'gatehouse: unknown connection' });
      return reply.hijack();
    }
    const token = bearerToken(single(req.headers.authorization));
    const digest = token === undefined ? '' : tokenDigest(token);
    const login = { protocol: 'http', refusals: d.refusals, metrics: d.metrics } as const;
    const identity = await bearerLogin(login, {
      token,
      clientAddr: `${req.ip}:${req.socket.remotePort ?? 0}`,
      connection,
      verify: (t) => this.#tokens.verify(t, d.verifyToken, digest),
      answer: (detail, tokenPresented) => {
        sendAnswer(
          reply.raw,
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
        reply.hijack();
      },
    });
    if (identity && token !== undefined) this.#auth.set(req, { connection, identity, digest });
  }

  async #serve(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const d = this.#d;
    const auth = this.#auth.get(req);
    if (!auth) throw new Error('request reached the proxy unauthenticated');
    const { connection, identity, digest } = auth;
    const raw = req.raw.url ?? '/';
    const rest = raw.slice(1 + (/^\/[^/?]*/.exec(raw)?.[0].length ?? 1) - 1);
    const target = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
    reply.hijack();
    const res = reply.raw;
    let body: RequestBody;
    try {
      body = await readRequestBody(
        req.raw,
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
      session = d.sessions.open(req.socket, digest, identity, connection, req.ip, {
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
          method: req.method,
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
