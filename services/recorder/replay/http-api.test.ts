import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { ClickHouseError } from '../errors.js';
import { recordEvents } from '../../../dev/recorder-fixtures/recorded.js';
import type { EventCursor, ReplayStore, SessionFilter } from '../store/session-queries.js';
import type { TimelineFilter } from '../store/timeline-queries.js';
import { postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import { buildReplayApi, decodeCursor, encodeCursor, parseTime } from './http-api.js';
import { asAnalyst, TEST_AUTH } from '../../../dev/recorder-fixtures/test-auth.js';
import type { RecordedEvent } from './recorded-event.js';

const SESSION = '00000000-0000-4000-8000-0000000000aa';
const EVENTS: RecordedEvent[] = recordEvents(postgresScenario({ sessionId: SESSION, rows: 2 }));

class FakeStore implements ReplayStore {
  filters: SessionFilter[] = [];
  timelines: TimelineFilter[] = [];
  timeline(filter: TimelineFilter) {
    this.timelines.push(filter);
    return Promise.resolve({ entries: [], truncated: false });
  }
  failing = false;
  listSessions(filter: SessionFilter) {
    this.filters.push(filter);
    return this.failing
      ? Promise.reject(new ClickHouseError('ClickHouse error 210: x', { retriable: true }))
      : Promise.resolve([]);
  }
  getSession() {
    return Promise.resolve(undefined);
  }
  sessionEvents(sessionId: string, after: EventCursor | undefined, limit: number) {
    if (sessionId !== SESSION) return Promise.resolve([]);
    const start =
      after === undefined
        ? 0
        : EVENTS.findIndex((e) => BigInt(e.seq) === after.seq && e.eventId === after.eventId) + 1;
    return Promise.resolve(EVENTS.slice(start, start + limit));
  }
}

const store = new FakeStore();
const api = buildReplayApi({
  queries: store,
  log: createLogger({ service: 'test', level: 'silent' }),
  auth: TEST_AUTH,
});
afterAll(() => api.close());
const app = asAnalyst(api);

describe('replay API', () => {
  it('validates and passes timeline filters, bounded', async () => {
    const ok = await app.inject({
      url: "/v1/timeline?identity=a'%25&from=1714521600&to=2024-05-02T00:00:00Z&protocol=mcp&connection=m",
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({
      identity: "a'%",
      from: '2024-05-01T00:00:00.000Z',
      to: '2024-05-02T00:00:00.000Z',
      entries: [],
      truncated: false,
    });
    expect(store.timelines.at(-1)).toEqual({
      identity: "a'%",
      from: new Date('2024-05-01T00:00:00Z'),
      to: new Date('2024-05-02T00:00:00Z'),
      protocol: 'mcp',
      connection: 'm',
      limit: 200,
      maxStatementChars: 16_384,
    });
    for (const q of [
      'from=0',
      'identity=&from=0',
      'identity=x',
      'identity=x&from=0&limit=1001',
      'identity=x&from=0&limit=0',
      'identity=x&from=0&protocol=smtp',
      'identity=x&from=10&to=5',
      'identity=x&from=0&bogus=1',
    ]) {
      const bad = await app.inject({ url: `/v1/timeline?${q}` });
      expect(bad.statusCode, q).toBe(400);
      expect(bad.json()).toMatchObject({ error: { code: 'GH_ERR_BAD_REQUEST' } });
    }
  });

  it('validates and passes session filters', async () => {
    const ok = await app.inject({
      url: '/v1/sessions?identity=a@b.c&connection=pg&from=1714521600&to=2024-05-02T00:00:00Z&limit=5',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ sessions: [] });
    expect(store.filters.at(-1)).toEqual({
      identity: 'a@b.c',
      connection: 'pg',
      from: new Date('2024-05-01T00:00:00Z'),
      to: new Date('2024-05-02T00:00:00Z'),
      limit: 5,
    });
    for (const q of [
      'from=yesterday',
      'limit=0',
      'limit=5000',
      'to=abc',
      'bogus=1',
      'from=2024-05-02&to=2024-05-01',
    ]) {
      const res = await app.inject({ url: `/v1/sessions?${q}` });
      expect(res.statusCode, q).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'GH_ERR_BAD_REQUEST' } });
    }
  });

  it('pages events with an opaque cursor and answers 404 for unknown sessions', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await app.inject({
        url: `/v1/sessions/${SESSION}/events?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(res.statusCode).toBe(200);
      const body: { events: RecordedEvent[]; nextCursor: string | null } = res.json();
      seen.push(...body.events.map((e) => e.eventId));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(EVENTS.map((e) => e.eventId));
    expect((await app.inject({ url: '/v1/sessions/nope/events' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/sessions/nope' })).json()).toMatchObject({
      error: { code: 'GH_ERR_SESSION_NOT_FOUND' },
    });
    expect((await app.inject({ url: `/v1/sessions/${SESSION}/events?cursor=!!` })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v2/whatever' })).json()).toMatchObject({
      error: { code: 'GH_ERR_NOT_FOUND' },
    });
  });

  it('renders the transcript as text', async () => {
    const res = await app.inject({ url: `/v1/sessions/${SESSION}/transcript` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('(2 rows)');
  });

  it('hides store failures behind 503', async () => {
    store.failing = true;
    const res = await app.inject({ url: '/v1/sessions' });
    store.failing = false;
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      error: { code: 'GH_ERR_STORE_UNAVAILABLE', message: 'the recording store is unavailable' },
    });
  });

  it('parses times and cursors', () => {
    expect(parseTime('1714564800')).toEqual(new Date('2024-05-01T12:00:00Z'));
    expect(parseTime('1714564800.5')?.getTime()).toBe(1714564800500);
    expect(parseTime('2024-05-01')).toEqual(new Date('2024-05-01T00:00:00Z'));
    for (const bad of ['', 'now', '-5', '2024-13-45', '1e9']) expect(parseTime(bad)).toBeUndefined();
    const c = { seq: 18446744073709551615n, eventId: 'e:1' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(decodeCursor('bm9wZQ')).toBeUndefined();
  });

  it('needs a bearer token of an allowed group: 401 with a challenge, 403 for other groups', async () => {
    const none = await api.inject({ url: '/v1/sessions' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="gatehouse-recorder"');
    expect(none.json()).toMatchObject({ error: { code: 'GH_ERR_UNAUTHENTICATED' } });
    const bad = await api.inject({
      url: '/v1/sessions',
      headers: { authorization: 'Bearer nope.nope.nope' },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['www-authenticate']).toBe('Bearer realm="gatehouse-recorder", error="invalid_token"');
    expect(bad.body).not.toContain('nope.nope');
    const basic = await api.inject({ url: '/v1/sessions', headers: { authorization: 'Basic c29jOnNvYw==' } });
    expect(basic.statusCode).toBe(401);
    const dev = await api.inject({
      url: `/v1/sessions/${SESSION}/events`,
      headers: { authorization: 'Bearer dev-token' },
    });
    expect(dev.statusCode).toBe(403);
    expect(dev.json()).toMatchObject({ error: { code: 'GH_ERR_FORBIDDEN' } });
    expect(dev.body).not.toContain('SELECT');
    for (const url of ['/', `/sessions/${SESSION}`, `/v1/sessions/${SESSION}/transcript`]) {
      expect((await api.inject({ url })).statusCode, url).toBe(401);
    }
    expect(
      (await api.inject({ url: '/v1/sessions', headers: { authorization: 'Bearer soc-token' } })).statusCode,
    ).toBe(200);
  });
});
