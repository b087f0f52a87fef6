import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import type { ClickHouse } from '../../services/recorder/clickhouse/client.js';
import type { RecordedEvent, SessionSummary } from '../../services/recorder/replay/recorded-event.js';
import { runReplay } from '../../services/recorder/cli/run-replay.js';
import { runSessions } from '../../services/recorder/cli/run-sessions.js';
import type { Event } from '../../services/shared/events/codec.js';
import { startRecordedScenario } from '../support/recorded-scenario.js';
import type { RecordedScenario } from '../support/recorded-scenario.js';
import type { RecorderAuth } from '../support/recorder-auth.js';

let fx: RecordedScenario;
let auth: RecorderAuth;
let ch: ClickHouse;
let base: string;
let sessions: Event[][];
let approvals: Event[];
let corruptOffsetTopic: string;
let cliIo: RecordedScenario['cliIo'];

beforeAll(async () => {
  fx = await startRecordedScenario();
  ({ auth, ch, base, sessions, approvals, cliIo } = fx);
  corruptOffsetTopic = fx.topics.sessions;
});
afterAll(() => fx.stop());

describe('recorder: Kafka → ClickHouse → replay API and CLI', () => {
  it('the replay API needs an analyst token: 401 with a challenge, 403 for other groups, 200 for soc', async () => {
    const url = `${base}/v1/sessions/${sessions[0]![0]!.sessionId}/events`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse-recorder"');
    const forged = await fetch(url, {
      headers: { authorization: `Bearer ${auth.token.slice(0, -6)}AAAAAA` },
    });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const dev = await auth.idp.issueToken({ user: 'dev', groups: ['engineering'] });
    const other = await fetch(url, { headers: { authorization: `Bearer ${dev}` } });
    expect(other.status).toBe(403);
    const body = await other.text();
    expect(body).toContain('GH_ERR_FORBIDDEN');
    expect(body).not.toContain('SELECT');
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await auth.get(url)).status).toBe(200);
    const cli = cliIo({ GATEHOUSE_TOKEN: '' });
    expect(await runSessions(['--recorder', base], cli)).toBe(1);
    expect(cli.err.join('')).toContain('--token or $GATEHOUSE_TOKEN');
  });

  it('stores every event exactly once (duplicates collapse in queries) with its exact payload', async () => {
    const rows = await ch.query<{ event_id: string; n: string }>(
      sql`SELECT event_id, count() AS n FROM (SELECT event_id FROM events FINAL) GROUP BY event_id HAVING n > 1`,
    );
    expect(rows).toEqual([]);
    const byApi = await ch.query<{ n: string }>(
      sql`SELECT count() AS n FROM (SELECT event_id FROM events LIMIT 1 BY event_id)`,
    );
    expect(Number(byApi[0]!.n)).toBe(sessions.flat().length + approvals.length);
    for (const s of sessions) {
      const res = await auth.get(`${base}/v1/sessions/${s[0]!.sessionId}/events`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { events: RecordedEvent[]; nextCursor: string | null };
      expect(body.nextCursor).toBeNull();
      expect(body.events.map((e) => e.eventId)).toEqual(s.map((e) => e.eventId));
      expect(body.events.map((e) => e.seq)).toEqual(s.map((_, i) => i + 1));
      for (const [i, e] of s.entries()) {
        const want = e.body.case === 'response' ? Buffer.from(e.body.value.data).toString('base64') : '';
        expect(body.events[i]!.payload).toBe(want);
      }
      const decision = body.events.find((e) => e.kind === 'decision' && e.requestId === 2)!;
      expect(decision).toMatchObject({
        decision: 'deny',
        statement: 'DELETE FROM users',
        reasons: ['DELETE without WHERE'],
        policyRevision: 'rev-7f3a',
      });
    }
  });

  it('records the approvals topic as its own stream, not as a session', async () => {
    const res = await auth.get(`${base}/v1/sessions/approval:apr-77/events`);
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: RecordedEvent[] };
    expect(events.map((e) => [e.kind, e.code, e.reviewer, e.statement])).toEqual([
      ['approval_requested', '', '', "UPDATE users SET name = 'bob' WHERE id = 2"],
      ['approval_reviewed', 'approve', 'bob@example.com', "UPDATE users SET name = 'bob' WHERE id = 2"],
      ['approval_decided', 'approved', 'bob@example.com', "UPDATE users SET name = 'bob' WHERE id = 2"],
    ]);
    expect((await auth.get(`${base}/v1/sessions/approval:apr-77`)).status).toBe(404);
  });

  it('pages events with a cursor', async () => {
    const s = sessions[0]!;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `${base}/v1/sessions/${s[0]!.sessionId}/events?limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const body = (await (await auth.get(url)).json()) as {
        events: RecordedEvent[];
        nextCursor: string | null;
      };
      seen.push(...body.events.map((e) => e.eventId));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(s.map((e) => e.eventId));
  });

  it('summarises sessions without double counting', async () => {
    const res = await auth.get(`${base}/v1/sessions?limit=50`);
    const { sessions: list } = (await res.json()) as { sessions: SessionSummary[] };
    expect(list).toHaveLength(5);
    const first = list.find((x) => x.sessionId === sessions[0]![0]!.sessionId)!;
    expect(first).toMatchObject({
      closed: true,
      closeReason: 'client terminated',
      requests: 3,
      allowed: 1,
      denied: 1,
      approvals: 1,
      rowsReturned: 150,
      events: sessions[0]!.length,
      lastSeq: sessions[0]!.length,
      connection: 'demo-pg',
      protocol: 'postgres',
      nodeId: 'node-a',
      clientAddr: '10.0.0.7:51234',
      identity: { sub: 'u-alice', email: 'user0@example.com', groups: ['dba', 'oncall'], agent: true },
    });
    const byEmail = (await (await auth.get(`${base}/v1/sessions?identity=user3@example.com`)).json()) as {
      sessions: SessionSummary[];
    };
    expect(byEmail.sessions.map((x) => x.sessionId)).toEqual([sessions[3]![0]!.sessionId]);
    const none = (await (
      await auth.get(`${base}/v1/sessions?connection=other&from=2024-05-01T00:00:00Z`)
    ).json()) as { sessions: SessionSummary[] };
    expect(none.sessions).toEqual([]);
    const inRange = (await (
      await auth.get(`${base}/v1/sessions?from=1714521600&to=2024-05-02T00:00:00Z`)
    ).json()) as { sessions: SessionSummary[] };
    expect(inRange.sessions).toHaveLength(5);
  });

  it('keeps undecodable records in dead_letters with their position', async () => {
    const rows = await ch.query<{ kafka_topic: string; kafka_offset: string; v: string; error_code: string }>(
      sql`SELECT kafka_topic, kafka_offset, hex(record_value) AS v, error_code FROM dead_letters FINAL`,
    );
    expect(rows).toEqual([
      {
        kafka_topic: corruptOffsetTopic,
        kafka_offset: expect.any(String),
        v: 'FF010203',
        error_code: 'GH_ERR_EVENT_DECODE',
      },
    ]);
  });

  it('serves a transcript and JSON errors', async () => {
    const id = sessions[1]![0]!.sessionId;
    const res = await auth.get(`${base}/v1/sessions/${id}/transcript`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('> SELECT id, name FROM users ORDER BY id');
    expect(text).toMatch(/^ id +\| +name$/m);
    expect(text).toContain('(151 rows)');
    expect(text).toContain('ERROR 42501: denied by policy: DELETE without WHERE');
    expect(text).toContain('approval apr-1 approved by bob@example.com');

    const missing = await auth.get(`${base}/v1/sessions/${randomUUID()}/events`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'GH_ERR_SESSION_NOT_FOUND' } });
    const bad = await auth.get(`${base}/v1/sessions?from=yesterday`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 'GH_ERR_BAD_REQUEST', message: expect.stringContaining('from') },
    });
    const badLimit = await auth.get(`${base}/v1/sessions?limit=0`);
    expect(badLimit.status).toBe(400);
  });

  it('drives the CLI commands against the API', async () => {
    const io = cliIo({ GATEHOUSE_RECORDER_URL: base });
    expect(await runSessions(['--identity', 'user2@example.com'], io)).toBe(0);
    expect(io.out.join('')).toContain(sessions[2]![0]!.sessionId);
    const replayIo = cliIo({});
    expect(
      await runReplay([sessions[2]![0]!.sessionId, '--recorder', base, '--max-rows', '2'], replayIo),
    ).toBe(0);
    const transcript = replayIo.out.join('');
    expect(transcript).toContain('… 150 more rows not shown');
    expect(transcript).toContain('(152 rows)');
    const jsonIo = cliIo({});
    expect(
      await runReplay([sessions[2]![0]!.sessionId, '--recorder', base, '--format', 'json'], jsonIo),
    ).toBe(0);
    expect((JSON.parse(jsonIo.out.join('')) as { events: unknown[] }).events).toHaveLength(
      sessions[2]!.length,
    );
    const missingIo = cliIo({});
    expect(await runReplay(['nope', '--recorder', base], missingIo)).toBe(1);
    expect(missingIo.err.join('')).toContain('no recorded session');
  });
});
