import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import type { EventCursor, ReplayStore } from '../store/session-queries.js';
import type { TimelineFilter } from '../store/timeline-queries.js';
import { recordEvents } from '../../../dev/recorder-fixtures/recorded.js';
import { postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import { sshShellScenario } from '../../../dev/recorder-fixtures/ssh-scenario.js';
import { buildReplayApi } from './http-api.js';
import { asAnalyst, TEST_AUTH } from '../../../dev/recorder-fixtures/test-auth.js';
import type { RecordedEvent, SessionSummary } from './recorded-event.js';
import { escapeHtml } from './web-pages.js';

const HOSTILE = '<script>alert(1)</script>"\'&';
const SSH_ID = 'ssh-<b>1</b>';
const PG_ID = 'pg-1';
const ssh = sshShellScenario({ sessionId: SSH_ID, email: HOSTILE, extraOutput: [`${HOSTILE}\r\n`] });
const EVENTS: Record<string, RecordedEvent[]> = {
  [SSH_ID]: recordEvents(ssh.events),
  [PG_ID]: recordEvents(postgresScenario({ sessionId: PG_ID, rows: 2 })),
};

function summary(sessionId: string, protocol: string): SessionSummary {
  return {
    sessionId,
    startedAt: '2024-05-01T12:00:00.000Z',
    startedMicros: 0,
    endedAt: '2024-05-01T12:01:00.000Z',
    closed: true,
    lastEventAt: '',
    identity: { sub: 'u', email: HOSTILE, groups: [HOSTILE], agent: true },
    connection: HOSTILE,
    protocol,
    nodeId: 'n',
    clientAddr: '',
    requests: 1,
    allowed: 1,
    denied: 0,
    approvals: 0,
    rowsReturned: 0,
    bytes: 0,
    events: 1,
    lastSeq: 1,
    closeReason: HOSTILE,
  };
}

const timelines: TimelineFilter[] = [];
const store: ReplayStore = {
  timeline: (f) => {
    timelines.push(f);
    return Promise.resolve({
      truncated: false,
      entries: [
        {
          at: '2024-05-01T12:00:01.000Z',
          atMicros: 0,
          protocol: 'http',
          connection: HOSTILE,
          sessionId: SSH_ID,
          requestId: 2,
          requestKind: 'http.DELETE',
          text: `DELETE /x body: ${HOSTILE}`,
          statement: '',
          statementChars: 0,
          decision: 'deny',
          approval: '',
          reasons: [HOSTILE],
          identity: { sub: 'u', email: '' },
        },
      ],
    });
  },
  listSessions: () => Promise.resolve([summary(SSH_ID, 'ssh'), summary(PG_ID, 'postgres')]),
  getSession: (id) =>
    Promise.resolve(id in EVENTS ? summary(id, id === PG_ID ? 'postgres' : 'ssh') : undefined),
  sessionEvents: (id: string, after: EventCursor | undefined, limit: number) => {
    const all = EVENTS[id] ?? [];
    const start = after === undefined ? 0 : all.findIndex((e) => e.eventId === after.eventId) + 1;
    return Promise.resolve(all.slice(start, start + limit));
  },
};

const api = buildReplayApi({
  queries: store,
  log: createLogger({ service: 'test', level: 'silent' }),
  auth: TEST_AUTH,
});
afterAll(() => api.close());
const app = asAnalyst(api);

function castOutput(cast: string): string {
  return cast
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as [number, string, string])
    .filter((e) => e[1] === 'o')
    .map((e) => e[2])
    .join('');
}

describe('GET /v1/sessions/:id/asciicast', () => {
  it('serves the shell recording built from the stored rows', async () => {
    const res = await app.inject({ url: `/v1/sessions/${encodeURIComponent(SSH_ID)}/asciicast` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-asciicast/);
    expect(JSON.parse(res.body.split('\n')[0]!)).toMatchObject({ version: 2, width: 100, height: 30 });
    expect(Buffer.from(castOutput(res.body))).toEqual(ssh.output);
  });

  it('answers 404 without terminal output or session', async () => {
    const pg = await app.inject({ url: `/v1/sessions/${PG_ID}/asciicast` });
    expect(pg.statusCode).toBe(404);
    expect(pg.json()).toMatchObject({ error: { code: 'GH_ERR_NO_TERMINAL_OUTPUT' } });
    const none = await app.inject({ url: '/v1/sessions/nope/asciicast' });
    expect(none.json()).toMatchObject({ error: { code: 'GH_ERR_SESSION_NOT_FOUND' } });
  });
});

describe('web UI', () => {
  it('lists sessions with escaped values and links, under a strict CSP', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(res.body).not.toContain('<script>alert');
    expect(res.body).toContain(escapeHtml(HOSTILE));
    expect(res.body).toContain(`href="/sessions/${encodeURIComponent(SSH_ID)}"`);
    expect(res.body).toContain('href="/sessions/pg-1"');
  });

  it('shows an SSH session with the player and a SQL session with its transcript only', async () => {
    const s = await app.inject({ url: `/sessions/${encodeURIComponent(SSH_ID)}` });
    expect(s.statusCode).toBe(200);
    expect(s.body).toContain(`data-src="/v1/sessions/${encodeURIComponent(SSH_ID)}/asciicast"`);
    expect(s.body).toContain('<script src="/ui/asciinema-player.min.js" defer></script>');
    expect(s.body).not.toContain('<script>alert');
    expect(s.body).not.toContain('<b>1</b>');
    expect(s.body.match(/<script/g)).toHaveLength(2);
    const p = await app.inject({ url: `/sessions/${PG_ID}` });
    expect(p.statusCode).toBe(200);
    expect(p.body).not.toContain('id="player"');
    expect(p.body).not.toContain('<script');
    expect(p.body).toContain('SELECT id, name FROM users ORDER BY id');
    expect((await app.inject({ url: '/sessions/nope' })).statusCode).toBe(404);
  });

  it("shows an identity's timeline, escaped, linking to its sessions", async () => {
    const res = await app.inject({ url: `/timeline?identity=${encodeURIComponent(HOSTILE)}&hours=2` });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<script>alert');
    expect(res.body).toContain(`<code>${escapeHtml(HOSTILE)}</code>`);
    expect(res.body).toContain(`<td class="request">DELETE /x body: ${escapeHtml(HOSTILE)}</td>`);
    expect(res.body).toContain(`href="/sessions/${encodeURIComponent(SSH_ID)}"`);
    expect(timelines.at(-1)).toMatchObject({ identity: HOSTILE, limit: 1000 });
    const f = timelines.at(-1)!;
    expect(f.to.getTime() - f.from.getTime()).toBe(2 * 3_600_000);
    const list = await app.inject({ url: '/' });
    expect(list.body).toContain('href="/timeline?identity=u"');
    for (const bad of [
      '/timeline',
      '/timeline?identity=',
      '/timeline?identity=x&hours=721',
      '/timeline?identity=x&x=1',
    ])
      expect((await app.inject({ url: bad })).statusCode, bad).toBe(400);
  });

  it('serves the player assets from the package, and nothing else', async () => {
    const js = await app.inject({ url: '/ui/asciinema-player.min.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.body).toContain('AsciinemaPlayer');
    expect((await app.inject({ url: '/ui/asciinema-player.css' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/ui/session.js' })).body).toContain('AsciinemaPlayer.create');
    for (const bad of ['/ui/..%2Fpackage.json', '/ui/constructor', '/ui/x.js']) {
      expect((await app.inject({ url: bad })).statusCode).toBe(404);
    }
  });
});
