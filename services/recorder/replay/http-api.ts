import { fastify } from 'fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ErrorCode } from '../../shared/errors.js';
import type { Identity } from '../../shared/identity/index.js';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import {
  bearerChallenge,
  registerWebLogin,
  requestIdentity,
  WebAuthError,
} from '../../shared/web-login/index.js';
import type { RequestAuth, WebLoginConfig } from '../../shared/web-login/index.js';
import { ClickHouseError } from '../errors.js';
import type { EventCursor, ReplayStore } from '../store/session-queries.js';
import { recordedToAsciicast } from '../asciicast.js';
import { allEvents } from './all-events.js';
import { TIMELINE_PROTOCOLS } from './timeline-entry.js';
import type { TimelineResponse } from './timeline-entry.js';
import { renderTranscript } from './transcript.js';
import { registerWebUi } from './web-ui.js';

/**
 * The replay API (JSON over HTTP):
 *
 * - `GET /v1/sessions?identity=&connection=&from=&to=&limit=` → `{ sessions: SessionSummary[] }`, newest first.
 *   `identity` matches subject or email; `from`/`to` are ISO 8601 or unix seconds (sessions started in [from, to)).
 * - `GET /v1/sessions/:id` → `{ session: SessionSummary }`
 * - `GET /v1/sessions/:id/events?cursor=&limit=` → `{ sessionId, events: RecordedEvent[], nextCursor }` ordered by
 *   seq, each event once; `nextCursor` is null on the last page.
 * - `GET /v1/sessions/:id/transcript` → text/plain transcript.
 * - `GET /v1/sessions/:id/asciicast` → asciicast v2 (`application/x-asciicast`) of the session's shell (else first
 *   pty exec, else first exec); 404 when the session has no terminal output.
 * - `GET /v1/timeline?identity=&from=&to=&connection=&protocol=&limit=` → TimelineResponse: one identity's requests
 *   (subject or email, exact match) across PostgreSQL, SSH, MCP and HTTP sessions, oldest first; `from` is required,
 *   `to` defaults to now; `protocol` is postgres, ssh, mcp or http; `limit` 1–1000 (default 200), `truncated` when
 *   more matched.
 * - `GET /` and `GET /sessions/:id`: the web UI (web-ui.ts).
 *
 * Errors: `{ error: { code, message } }` with 400 (bad parameter), 404 (unknown session or route), 503 (ClickHouse
 * unavailable), 500 (anything else; details only in the log).
 *
 * Every route but the static player assets and `/auth/*` needs an identity in one of the allowed groups: a web
 * session (cookie, after `/auth/login`) or `Authorization: Bearer <access token>`. 401 with `WWW-Authenticate`
 * without one (the pages redirect to the login instead, when web login is on), 403 outside the allowed groups.
 */

export type ReplayApiAuth = {
  verify: (token: string) => Promise<Identity>;
  allowedGroups: readonly string[];
  /** Web login for the pages (OIDC authorization code + PKCE). */
  web?: { config: Readonly<WebLoginConfig>; issuer: string; publicUrl: () => string } | undefined;
};

export type ReplayApiOptions = {
  queries: ReplayStore;
  log: Logger;
  auth: ReplayApiAuth;
  /** Most events one transcript renders (pages are fetched until this many). Default 100 000. */
  maxTranscriptEvents?: number;
};

const DEFAULT_SESSIONS = 100;
const MAX_SESSIONS = 1000;
const DEFAULT_TIMELINE = 200;
const MAX_TIMELINE = 1000;
/** Most characters of one request text a timeline entry carries (`statement`; `statementChars` has the length). */
const MAX_TIMELINE_STATEMENT = 16_384;
const DEFAULT_EVENTS = 1000;
const MAX_EVENTS = 10_000;

/** ISO 8601 (`2024-05-01T12:00:00Z`) or unix seconds (`1714564800`, fractions allowed). */
export function parseTime(text: string): Date | undefined {
  const date = /^\d+(\.\d+)?$/.test(text)
    ? new Date(Number(text) * 1000)
    : /^\d{4}-\d\d-\d\d/.test(text)
      ? new Date(text)
      : undefined;
  if (date === undefined || Number.isNaN(date.getTime()) || date.getTime() < 0) return undefined;
  return date;
}

const timeParam = z.string().transform((text, ctx) => {
  const date = parseTime(text);
  if (date === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time or unix seconds' });
    return z.NEVER;
  }
  return date;
});

const nonEmpty = z.string().min(1).max(512);
const limit = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def);

const sessionsQuery = z.strictObject({
  identity: nonEmpty.optional(),
  connection: nonEmpty.optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  limit: limit(DEFAULT_SESSIONS, MAX_SESSIONS),
});

const timelineQuery = z.strictObject({
  identity: nonEmpty,
  from: timeParam,
  to: timeParam.optional(),
  connection: nonEmpty.optional(),
  protocol: z.enum(TIMELINE_PROTOCOLS).optional(),
  limit: limit(DEFAULT_TIMELINE, MAX_TIMELINE),
});

const eventsQuery = z.strictObject({
  cursor: z.string().max(600).optional(),
  limit: limit(DEFAULT_EVENTS, MAX_EVENTS),
});

const sessionParams = z.strictObject({ id: z.string().min(1).max(256) });

export function encodeCursor(c: EventCursor): string {
  return Buffer.from(`${c.seq}:${c.eventId}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): EventCursor | undefined {
  const m = /^(\d{1,20}):(.+)$/s.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!m) return undefined;
  return { seq: BigInt(m[1]!), eventId: m[2]! };
}

class BadRequest extends Error {}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new BadRequest(
    r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'request'}: ${i.message}`).join('; '),
  );
}

function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error: { code, message } });
}

/** Builds the API (not listening): `listen` it, or `inject` requests in tests. */
export function buildReplayApi(opts: ReplayApiOptions): FastifyInstance {
  const { queries } = opts;
  const log = opts.log.child({ component: 'replay-api' });
  const maxTranscript = opts.maxTranscriptEvents ?? 100_000;
  const app = fastify({
    logger: false,
    bodyLimit: 1024,
    routerOptions: { maxParamLength: 300 },
    return503OnClosing: true,
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof BadRequest) return sendError(reply, 400, 'GH_ERR_BAD_REQUEST', err.message);
    if (err instanceof ClickHouseError) {
      logError(log, err, 'replay query failed', { url: request.url });
      return sendError(reply, 503, 'GH_ERR_STORE_UNAVAILABLE', 'the recording store is unavailable');
    }
    const e = err as { statusCode?: number; message?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, e.statusCode, 'GH_ERR_BAD_REQUEST', e.message ?? 'bad request');
    }
    logError(log, err, 'replay API error', { url: request.url });
    return sendError(reply, 500, 'GH_ERR_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, 'GH_ERR_NOT_FOUND', 'no such route'));

  const web = opts.auth.web
    ? registerWebLogin(app, {
        config: opts.auth.web.config,
        issuer: opts.auth.web.issuer,
        verify: opts.auth.verify,
        publicUrl: opts.auth.web.publicUrl,
        log,
      })
    : undefined;
  const auth: RequestAuth = { verify: opts.auth.verify, allowedGroups: opts.auth.allowedGroups, web };
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith('/auth/') || path.startsWith('/ui/')) return;
    try {
      const identity = await requestIdentity(request, auth);
      log.debug({ sub: identity.sub, url: path }, 'replay access');
    } catch (err) {
      if (!(err instanceof WebAuthError)) throw err;
      const page = !path.startsWith('/v1/');
      if (page && web && err.status === 401) return reply.redirect(web.loginUrl(request.url), 302);
      if (err.status === 401) {
        void reply.header(
          'www-authenticate',
          bearerChallenge({
            realm: 'gatehouse-recorder',
            invalidToken: request.headers.authorization !== undefined,
          }),
        );
      }
      log.info({ code: err.code, url: path }, 'replay access refused');
      return sendError(reply, err.status, err.code, err.message);
    }
  });

  app.get('/v1/sessions', async (request) => {
    const q = parse(sessionsQuery, request.query);
    if (q.from && q.to && q.from >= q.to) throw new BadRequest('from: must be before to');
    return { sessions: await queries.listSessions(q) };
  });

  app.get('/v1/timeline', async (request, reply): Promise<TimelineResponse | FastifyReply> => {
    if (!queries.timeline) return sendError(reply, 404, 'GH_ERR_NOT_FOUND', 'no timeline in this store');
    const q = parse(timelineQuery, request.query);
    const to = q.to ?? new Date();
    if (q.from >= to) throw new BadRequest('from: must be before to');
    const found = await queries.timeline({ ...q, to, maxStatementChars: MAX_TIMELINE_STATEMENT });
    return { identity: q.identity, from: q.from.toISOString(), to: to.toISOString(), ...found };
  });

  app.get('/v1/sessions/:id', async (request, reply) => {
    const { id } = parse(sessionParams, request.params);
    const session = await queries.getSession(id);
    if (!session)
      return sendError(reply, 404, 'GH_ERR_SESSION_NOT_FOUND', 'no recorded session with this id');
    return { session };
  });

  app.get('/v1/sessions/:id/events', async (request, reply) => {
    const { id } = parse(sessionParams, request.params);
    const q = parse(eventsQuery, request.query);
    let after: EventCursor | undefined;
    if (q.cursor !== undefined) {
      after = decodeCursor(q.cursor);
      if (after === undefined) throw new BadRequest('cursor: not a cursor returned by this API');
    }
    const events = await queries.sessionEvents(id, after, q.limit);
    if (events.length === 0 && after === undefined) {
      return sendError(reply, 404, 'GH_ERR_SESSION_NOT_FOUND', 'no recorded session with this id');
    }
    const last = events.at(-1);
    const nextCursor =
      last !== undefined && events.length === q.limit
        ? encodeCursor({ seq: BigInt(last.seq), eventId: last.eventId })
        : null;
    return { sessionId: id, events, nextCursor };
  });

  app.get('/v1/sessions/:id/transcript', async (request, reply) => {
    const { id } = parse(sessionParams, request.params);
    const events = await allEvents(queries, id, maxTranscript);
    if (events.length === 0)
      return sendError(reply, 404, 'GH_ERR_SESSION_NOT_FOUND', 'no recorded session with this id');
    let text = renderTranscript(events);
    if (events.length >= maxTranscript) text += `… transcript truncated after ${maxTranscript} events\n`;
    return reply.type('text/plain; charset=utf-8').send(text);
  });

  app.get('/v1/sessions/:id/asciicast', async (request, reply) => {
    const { id } = parse(sessionParams, request.params);
    const events = await allEvents(queries, id, maxTranscript);
    if (events.length === 0)
      return sendError(reply, 404, 'GH_ERR_SESSION_NOT_FOUND', 'no recorded session with this id');
    const { cast, outputEvents } = recordedToAsciicast(events);
    if (outputEvents === 0)
      return sendError(reply, 404, 'GH_ERR_NO_TERMINAL_OUTPUT', 'the session recorded no terminal output');
    if (events.length >= maxTranscript) reply.header('x-gatehouse-truncated', `${maxTranscript} events`);
    return reply
      .type('application/x-asciicast; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(cast);
  });

  registerWebUi(app, { queries, maxEvents: maxTranscript });

  return app;
}
