import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { recordedToAsciicast } from '../asciicast.js';
import type { ReplayStore } from '../store/session-queries.js';
import { allEvents } from './all-events.js';
import { renderTranscript } from './transcript.js';
import { renderTimelinePage } from './timeline-page.js';
import {
  layout,
  renderNotFound,
  renderSessionList,
  renderSessionPage,
  SESSION_JS,
  STYLE_CSS,
} from './web-pages.js';

/**
 * The replay web UI on the API's server: `GET /` lists recent sessions, `GET /sessions/:id` shows one (summary,
 * asciinema-player for terminal output, text transcript), `GET /timeline?identity=X&hours=N` one identity's requests
 * across protocols in the last N hours (default 24, at most 720; at most TIMELINE_LIMIT requests). The player's JS and CSS are served from the installed
 * `asciinema-player` package (no CDN); pages run no inline script (strict CSP).
 */

export type WebUiOptions = { queries: ReplayStore; maxEvents: number };

const LIST_LIMIT = 200;
const TIMELINE_LIMIT = 1000;
const TIMELINE_STATEMENT_CHARS = 4096;

/** The player decodes its terminal emulator from inline WebAssembly (hence 'wasm-unsafe-eval') and sets inline styles. */
const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const require = createRequire(import.meta.url);

type Asset = { file?: string; text?: string; type: string };

const ASSETS: Record<string, Asset> = {
  'asciinema-player.min.js': {
    file: require.resolve('asciinema-player/dist/bundle/asciinema-player.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'asciinema-player.css': {
    file: require.resolve('asciinema-player/dist/bundle/asciinema-player.css'),
    type: 'text/css; charset=utf-8',
  },
  'session.js': { text: SESSION_JS, type: 'text/javascript; charset=utf-8' },
  'style.css': { text: STYLE_CSS, type: 'text/css; charset=utf-8' },
};

const sessionParams = z.strictObject({ id: z.string().min(1).max(256) });
const assetParams = z.strictObject({ name: z.string().max(64) });
const timelineParams = z.strictObject({
  identity: z.string().min(1).max(512),
  hours: z.coerce.number().int().min(1).max(720).default(24),
});

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return secure(reply)
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(body);
}

export function registerWebUi(app: FastifyInstance, opts: WebUiOptions): void {
  const { queries, maxEvents } = opts;
  const cache = new Map<string, Buffer>();

  app.get('/', async (_request, reply) => {
    const sessions = await queries.listSessions({ limit: LIST_LIMIT });
    return html(reply, 200, renderSessionList(sessions));
  });

  app.get('/sessions/:id', async (request, reply) => {
    const parsed = sessionParams.safeParse(request.params);
    if (!parsed.success) return html(reply, 400, renderNotFound(''));
    const { id } = parsed.data;
    const [summary, events] = await Promise.all([queries.getSession(id), allEvents(queries, id, maxEvents)]);
    if (events.length === 0) return html(reply, 404, renderNotFound(id));
    const cast = recordedToAsciicast(events);
    let player: { castUrl: string; cols: number; rows: number } | undefined;
    if (cast.outputEvents > 0) {
      const header = JSON.parse(cast.cast.slice(0, cast.cast.indexOf('\n'))) as {
        width: number;
        height: number;
      };
      player = {
        castUrl: `/v1/sessions/${encodeURIComponent(id)}/asciicast`,
        cols: header.width,
        rows: header.height,
      };
    }
    return html(
      reply,
      200,
      renderSessionPage({
        sessionId: id,
        summary,
        transcript: renderTranscript(events),
        player,
        truncated: events.length >= maxEvents,
      }),
    );
  });

  app.get('/timeline', async (request, reply) => {
    const parsed = timelineParams.safeParse(request.query);
    if (!parsed.success || !queries.timeline) {
      const why = parsed.success
        ? 'This store keeps no timeline.'
        : 'Name an identity: /timeline?identity=SUB_OR_EMAIL&hours=24';
      return html(reply, parsed.success ? 404 : 400, layout('Timeline', `<h1>Timeline</h1>\n<p>${why}</p>`));
    }
    const to = new Date();
    const from = new Date(to.getTime() - parsed.data.hours * 3_600_000);
    const found = await queries.timeline({
      identity: parsed.data.identity,
      from,
      to,
      limit: TIMELINE_LIMIT,
      maxStatementChars: TIMELINE_STATEMENT_CHARS,
    });
    return html(
      reply,
      200,
      renderTimelinePage({
        identity: parsed.data.identity,
        from: from.toISOString(),
        to: to.toISOString(),
        ...found,
      }),
    );
  });

  app.get('/ui/:name', async (request, reply) => {
    const parsed = assetParams.safeParse(request.params);
    const asset =
      parsed.success && Object.hasOwn(ASSETS, parsed.data.name) ? ASSETS[parsed.data.name] : undefined;
    if (!parsed.success || asset === undefined) {
      return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    }
    let body = cache.get(parsed.data.name);
    if (body === undefined) {
      body = asset.file !== undefined ? await readFile(asset.file) : Buffer.from(asset.text ?? '');
      cache.set(parsed.data.name, body);
    }
    return secure(reply).type(asset.type).header('cache-control', 'public, max-age=3600').send(body);
  });
}
