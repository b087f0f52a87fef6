import { bearerToken } from '../../shared/web-login/bearer-auth.js';
import { readFileSync } from 'node:fs';
import { logError } from '../../shared/log-error.js';
import type { AddressInfo } from 'node:net';
import { fastify } from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { Identity } from '../../shared/identity/index.js';
import type { Logger } from '../../shared/logger.js';
import type { LoginRefusals } from '../login-audit/index.js';
import { bearerLogin } from '../login-audit/index.js';
import type { McpAuditSessions } from './audit-sessions.js';
import { ClientWire } from './client-wire.js';
import type { McpListenerConfig } from './config.js';
import type { McpConnection } from './connections.js';
import { parseMcpBody, RpcCode, rpcErrorText } from './jsonrpc-message.js';
import { MODERN_PROTOCOL_VERSION } from './known-methods.js';
import type { McpDecider } from './mcp-decider.js';
import { runPostExchange } from './post-exchange.js';
import { bearerChallenge, METADATA_PREFIX, protectedResourceMetadata } from './protected-resource.js';
import { routingHeaderProblem } from './routing-headers.js';
import { recordRefusedMessage } from './server-messages.js';
import type { ToolRegistry } from './tool-registry.js';

/** Revisions served: 2026-07-28 and the SDK's 2025-era list (2025-11-25 … 2024-11-05). */
export const SERVED_PROTOCOL_VERSIONS: readonly string[] = [
  MODERN_PROTOCOL_VERSION,
  ...SUPPORTED_PROTOCOL_VERSIONS,
];

export type McpListenerDeps = {
  config: McpListenerConfig;
  connections: ReadonlyMap<string, McpConnection>;
  issuer: string;
  decider: McpDecider;
  sessions: McpAuditSessions;
  tools: ToolRegistry;
  log: Logger;
  refusals?: LoginRefusals | undefined;
  metrics?: { loginFailed(code: string): void };
};

const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * The MCP listener: Streamable HTTP at `/mcp/<connection>` (POST; DELETE relayed; GET answered 405: the gateway
 * relays no standalone server stream), RFC 9728 metadata at `/.well-known/oauth-protected-resource/mcp/<connection>`.
 */
export class McpListener {
  readonly #d: McpListenerDeps;
  readonly #app: FastifyInstance;
  #origin: string;
  readonly #inflight = new Set<AbortController>();

  constructor(d: McpListenerDeps) {
    this.#d = d;
    const c = d.config;
    const https = c.tls ? { cert: readFileSync(c.tls.cert), key: readFileSync(c.tls.key) } : null;
    this.#app = fastify({ bodyLimit: c.maxBodyBytes, logger: false, ...(https ? { https } : {}) });
    this.#origin = c.publicUrl ? new URL(c.publicUrl).origin : '';
    // The body stays text: the gateway parses it itself, to answer malformed JSON with JSON-RPC errors.
    this.#app.removeAllContentTypeParsers();
    this.#app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    this.#app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
      const status = err.statusCode ?? 500;
      const message =
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `Request body larger than ${c.maxBodyBytes} bytes`
          : status < 500
            ? 'Invalid request'
            : 'Internal error';
      if (status >= 500) logError(d.log, err, 'mcp listener error');
      void reply
        .code(status)
        .type('application/json')
        .send(rpcErrorText(null, status >= 500 ? RpcCode.internalError : RpcCode.invalidRequest, message));
    });
    this.#routes();
  }

  async listen(): Promise<number> {
    const c = this.#d.config;
    this.#d.sessions.start();
    await this.#app.listen({ host: c.host, port: c.port });
    const port = (this.#app.server.address() as AddressInfo).port;
    if (this.#origin === '') this.#origin = `${c.tls ? 'https' : 'http'}://${c.host}:${port}`;
    return port;
  }

  get origin(): string {
    return this.#origin;
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

  #routes(): void {
    const app = this.#app;
    app.get(
      `${METADATA_PREFIX}/mcp/:connection`,
      (req: FastifyRequest<{ Params: { connection: string } }>, reply) => {
        const name = req.params.connection;
        if (!this.#d.connections.has(name)) return reply.code(404).send({ error: 'unknown MCP connection' });
        return reply
          .header('cache-control', 'max-age=300')
          .send(protectedResourceMetadata(this.#origin, name, this.#d.issuer));
      },
    );
    const handler = (req: FastifyRequest<{ Params: { connection: string } }>, reply: FastifyReply) =>
      this.#serve(req, reply);
    app.post('/mcp/:connection', handler);
    app.delete('/mcp/:connection', handler);
    app.get('/mcp/:connection', handler);
  }

  async #serve(req: FastifyRequest<{ Params: { connection: string } }>, reply: FastifyReply): Promise<void> {
    const d = this.#d;
    const connection = d.connections.get(req.params.connection);
    if (!connection) return void reply.code(404).send({ error: 'unknown MCP connection' });
    const origin = single(req.headers.origin);
    if (origin !== undefined && !d.config.allowedOrigins.some((o) => new URL(o).origin === origin)) {
      return void reply
        .code(403)
        .type('application/json')
        .send(rpcErrorText(null, RpcCode.invalidRequest, 'Origin not allowed'));
    }
    const identity = await this.#authenticate(req, reply, connection);
    if (!identity) return;
    if (req.method === 'GET') {
      return void reply
        .code(405)
        .header('allow', 'POST, DELETE')
        .type('application/json')
        .send(
          rpcErrorText(
            null,
            RpcCode.invalidRequest,
            'Method not allowed: the gateway relays no standalone server stream',
          ),
        );
    }
    const openSession = () =>
      d.sessions.open(bearerOf(req)!, identity, connection, req.ip, {
        protocol_version: single(req.headers['mcp-protocol-version']) ?? '',
        user_agent: (single(req.headers['user-agent']) ?? '').slice(0, 255),
      });
    // A message refused before policy is still recorded (as sent, with the error the client got).
    const invalid = (status: number, code: number, message: string, id: string | number | null = null) => {
      const text = rpcErrorText(id, code, message);
      try {
        recordRefusedMessage(openSession(), typeof req.body === 'string' ? req.body : '', text);
      } catch (err) {
        logError(d.log, err, 'refused mcp message not recorded', { level: 'warn' });
      }
      void reply.code(status).type('application/json').send(text);
    };
    const version = single(req.headers['mcp-protocol-version']) ?? '';
    if (version !== '' && !SERVED_PROTOCOL_VERSIONS.includes(version)) {
      return invalid(
        400,
        RpcCode.invalidRequest,
        `Unsupported MCP-Protocol-Version ${version.slice(0, 32)}; supported: ${SERVED_PROTOCOL_VERSIONS.join(', ')}`,
      );
    }
    if (req.method === 'DELETE') return this.#relayDelete(req, reply, connection);
    const contentType = (single(req.headers['content-type']) ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json')
      return invalid(415, RpcCode.invalidRequest, 'Content-Type must be application/json');
    const parsed = parseMcpBody(typeof req.body === 'string' ? req.body : '');
    if (!parsed.ok)
      return invalid(
        parsed.failure.httpStatus,
        parsed.failure.code,
        parsed.failure.message,
        parsed.failure.id,
      );
    const message = parsed.message;
    const mismatch = routingHeaderProblem(
      message,
      { method: single(req.headers['mcp-method']), name: single(req.headers['mcp-name']) },
      version === MODERN_PROTOCOL_VERSION,
    );
    if (mismatch)
      return invalid(
        400,
        RpcCode.headerMismatch,
        `Header mismatch: ${mismatch}`,
        message.type === 'response' ? null : 'id' in message ? message.id : null,
      );
    let session;
    try {
      session = openSession();
    } catch (err) {
      logError(d.log, err, 'mcp session could not be recorded', { level: 'warn' });
      return void reply
        .code(503)
        .type('application/json')
        .send(
          rpcErrorText(
            null,
            RpcCode.auditUnavailable,
            'gatehouse: audit log unavailable: request not forwarded',
          ),
        );
    }
    const abort = new AbortController();
    this.#inflight.add(abort);
    reply.hijack();
    const res = reply.raw;
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      await runPostExchange({
        session,
        connection,
        message,
        clientHeaders: req.headers,
        protocolVersion: version,
        wire: new ClientWire(res, single(req.headers.accept)),
        signal: abort.signal,
        decider: d.decider,
        tools: d.tools,
        maxUpstreamMessageBytes: d.config.maxUpstreamMessageBytes,
      });
    } catch (err) {
      logError(session.log, err, 'mcp exchange failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(rpcErrorText(null, RpcCode.internalError, 'Internal error'));
      } else res.destroy();
    } finally {
      this.#inflight.delete(abort);
    }
  }

  /** 2025-era session end: relayed with the gateway's credentials (no policy: it only ends the upstream session). */
  async #relayDelete(req: FastifyRequest, reply: FastifyReply, connection: McpConnection): Promise<void> {
    const sessionId = single(req.headers['mcp-session-id']);
    const headers: Record<string, string> = sessionId ? { 'mcp-session-id': sessionId } : {};
    try {
      const r = await connection.upstream.send(
        'DELETE',
        headers,
        undefined,
        AbortSignal.timeout(connection.upstream.timeoutMs),
      );
      await r.body.dump();
      return void reply.code(r.status === 401 || r.status === 403 ? 502 : r.status).send();
    } catch {
      return void reply
        .code(502)
        .type('application/json')
        .send(rpcErrorText(null, RpcCode.upstream, 'gatehouse: the upstream MCP server is unavailable'));
    }
  }

  /** The caller's identity, or undefined after answering 401 with the RFC 9728 challenge (and recording it). */
  async #authenticate(
    req: FastifyRequest,
    reply: FastifyReply,
    connection: McpConnection,
  ): Promise<Identity | undefined> {
    const d = this.#d;
    const token = bearerOf(req);
    return bearerLogin(
      { protocol: 'mcp', refusals: d.refusals, metrics: d.metrics },
      {
        token,
        clientAddr: `${req.ip}:${req.socket.remotePort ?? 0}`,
        connection,
        verify: (t) => connection.verify(t),
        answer: (detail, tokenPresented) =>
          void reply
            .code(401)
            .header(
              'www-authenticate',
              bearerChallenge(
                this.#origin,
                connection.name,
                tokenPresented ? { description: detail } : undefined,
              ),
            )
            .type('application/json')
            .send(rpcErrorText(null, RpcCode.invalidRequest, `Unauthorized: ${detail}`)),
      },
    );
  }
}

function bearerOf(req: FastifyRequest): string | undefined {
  return bearerToken(single(req.headers.authorization));
}
