import { readFileSync } from 'node:fs';
import { fastify } from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ErrorCode } from '../../shared/errors.js';
import type { Identity } from '../../shared/identity/index.js';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import { registerWebLogin } from '../../shared/web-login/index.js';
import type { WebLoginConfig } from '../../shared/web-login/index.js';
import { ApprovalApiError, ApprovalErrorCode, badRequest } from '../errors.js';
import type { ApprovalMetrics } from '../metrics.js';
import type { Verdict } from '../model/types.js';
import { toView } from '../model/view.js';
import type { ReviewDesk } from '../review/review-desk.js';
import type { ApprovalStore } from '../store/approval-store.js';
import { APP_JS } from '../web/app-js.js';
import { PAGE_CSS, PAGE_HTML } from '../web/page-html.js';
import { openEventStream } from './event-stream.js';
import type { StreamRegistry } from './stream-registry.js';

export type HttpApiOptions = {
  desk: ReviewDesk;
  store: ApprovalStore;
  streams: StreamRegistry;
  metrics: ApprovalMetrics;
  log: Logger;
  publicUrl: () => string;
  tls?: { cert: string; key: string } | undefined;
  /** Web login for the page (the reviewer's identity then comes from the session cookie). */
  web?: { config: Readonly<WebLoginConfig>; issuer: string } | undefined;
};

const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

const listQuery = z.object({
  state: z.enum(['pending', 'approved', 'rejected', 'expired', 'abandoned', 'all']).default('pending'),
  limit: z.coerce.number().int().min(1).max(100_000).default(100),
});
const idParams = z.object({ id: z.string().min(1).max(200) });
const decideBody = z.union([
  z.null(),
  z.undefined(),
  z.object({ reason: z.string().max(100_000).optional() }),
]);

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw badRequest(
    r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'request'}: ${i.message}`).join('; '),
  );
}

function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('application/json')
    .send({ error: { code, message } });
}

function channelOf(req: FastifyRequest): string {
  const c = req.headers['x-gatehouse-client'];
  return c === 'web' || c === 'cli' ? c : 'http';
}

/**
 * The HTTP API, the web page and the event stream (documented in services/approval/README.md). Built, not
 * listening: `listen` it, or `inject` requests in tests.
 */
export function buildHttpApi(opts: HttpApiOptions): FastifyInstance {
  const { desk, store } = opts;
  const log = opts.log.child({ component: 'http-api' });
  const app = fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    routerOptions: { maxParamLength: 300 },
    return503OnClosing: true,
    ...(opts.tls ? { https: { cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) } } : {}),
  });

  // An empty body on POST is fine (approve without a comment).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(badRequest('the body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ApprovalApiError) {
      if (err.status >= 500) log.warn({ code: err.code, url: request.url }, err.message);
      return sendError(reply, err.status, err.code, err.message);
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendError(
        reply,
        status === 413 ? 413 : 400,
        ApprovalErrorCode.badRequest,
        (err as Error).message,
      );
    }
    logError(log, err, 'request failed', { url: request.url });
    return sendError(reply, 500, ApprovalErrorCode.internal, 'internal error');
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'GH_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );

  const web = opts.web
    ? registerWebLogin(app, {
        config: opts.web.config,
        issuer: opts.web.issuer,
        verify: (token) => desk.authenticate(`Bearer ${token}`),
        publicUrl: opts.publicUrl,
        log,
      })
    : undefined;
  /**
   * The caller: the web session (cookie) when there is one, else the bearer token. A state-changing request on a
   * cookie must also carry `x-gatehouse-client: web` (which a cross-site form cannot send; SameSite=Strict already
   * keeps the cookie off cross-site requests).
   */
  const callerOf = async (req: FastifyRequest): Promise<Identity> => {
    const session = req.headers.authorization === undefined ? web?.identity(req) : undefined;
    if (session && (req.method === 'GET' || req.headers['x-gatehouse-client'] === 'web')) return session;
    return desk.authenticate(req.headers.authorization);
  };

  const page = (req: FastifyRequest, reply: FastifyReply) => {
    if (web && !web.identity(req)) return reply.redirect(web.loginUrl(req.url), 302);
    return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(PAGE_HTML);
  };
  app.get('/', page);
  app.get('/approvals/:id', page);
  app.get('/app.js', (_req, reply) =>
    reply.headers(PAGE_HEADERS).type('text/javascript; charset=utf-8').send(APP_JS),
  );
  app.get('/app.css', (_req, reply) =>
    reply.headers(PAGE_HEADERS).type('text/css; charset=utf-8').send(PAGE_CSS),
  );

  app.get('/v1/approvals', async (req, reply) => {
    const caller = await callerOf(req);
    const q = parse(listQuery, req.query);
    const approvals = desk.list(caller, q.state, q.limit).map((r) => toView(r, opts.publicUrl()));
    return reply.header('cache-control', 'no-store').send({ approvals });
  });

  app.get('/v1/approvals/:id', async (req, reply) => {
    const caller = await callerOf(req);
    const { id } = parse(idParams, req.params);
    return reply
      .header('cache-control', 'no-store')
      .send({ approval: toView(desk.get(caller, id), opts.publicUrl()) });
  });

  const decide = (verdict: Verdict) => async (req: FastifyRequest, reply: FastifyReply) => {
    const caller = await callerOf(req);
    const { id } = parse(idParams, req.params);
    const body = parse(decideBody, req.body);
    const { status, record } = await desk.decide(caller, id, verdict, body?.reason ?? '', channelOf(req));
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .send({ approval: toView(record, opts.publicUrl()) });
  };
  app.post('/v1/approvals/:id/approve', decide('approve'));
  app.post('/v1/approvals/:id/reject', decide('reject'));

  app.get('/v1/events', async (req, reply) => {
    const caller = await callerOf(req);
    desk.assertReady();
    const include = (req.query as Record<string, unknown>).include === 'pending';
    openEventStream({
      req,
      reply,
      caller,
      store,
      streams: opts.streams,
      publicUrl: opts.publicUrl,
      includePending: include,
    });
    return reply;
  });

  return app;
}
