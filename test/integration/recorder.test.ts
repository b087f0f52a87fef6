import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import type { ClickHouse } from '../../services/recorder/clickhouse/client.js';
import { parseRecorderConfig } from '../../services/recorder/config.js';
import type { RecorderConfig } from '../../services/recorder/config.js';
import { startRecorder } from '../../services/recorder/recorder.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import type { RecordedEvent, SessionSummary } from '../../services/recorder/replay/recorded-event.js';
import { runReplay } from '../../services/recorder/cli/run-replay.js';
import { runSessions } from '../../services/recorder/cli/run-sessions.js';
import type { CliIo } from '../../services/recorder/cli/cli-io.js';
import { approvalStream, postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import { recorderClickHouse, testDatabase } from '../support/clickhouse.js';
import { kafkaConnection } from '../support/stack.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import { testKafka, testLogger } from '../support/kafka.js';
import { startRecorderAuth } from '../support/recorder-auth.js';
import type { RecorderAuth } from '../support/recorder-auth.js';

const cleanups: (() => Promise<unknown>)[] = [];
let auth: RecorderAuth;
beforeAll(async () => {
  auth = await startRecorderAuth();
  cleanups.push(() => auth.idp.stop());
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/**
 * A fresh topic (RF 3, min ISR 2). Retries ensureTopics on the same name: right after CreateTopics, kafkajs'
 * leader wait could fail with UNKNOWN_TOPIC_OR_PARTITION while the metadata propagates.
 */
async function uniqueTopic(prefix: string, partitions: number): Promise<string> {
  const name = `test.${prefix}.${randomUUID().slice(0, 8)}`;
  const spec = { name, partitions, replicationFactor: 3, minInsyncReplicas: 2 };
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(testKafka(), [spec]);
      return name;
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(500);
    }
  }
}

async function publishAll(records: { topic: string; key: string; value: Buffer }[]): Promise<void> {
  const p = new KafkaPublisher(testKafka('recorder-test-publisher'), testLogger, { lingerMs: 5 });
  p.start();
  try {
    for (const r of records.slice(0, -1)) p.publishBatched(r);
    await p.publishDurable(records.at(-1)!); // acknowledged only after everything before it (sent in order)
  } finally {
    await p.close(10_000);
  }
}

function recorderConfig(
  clickhouse: { url: string; database: string },
  topics: { sessions: string; approvals: string },
): RecorderConfig {
  return parseRecorderConfig({
    nodeId: 'rec-test',
    groupId: `test-recorder-${randomUUID().slice(0, 8)}`,
    kafka: { ...kafkaConnection('recorder'), topics: { ...topics, provision: false } },
    clickhouse: recorderClickHouse(clickhouse),
    consumer: { sessionTimeoutMs: 10_000, partitionsConcurrently: 3 },
    batch: { maxRows: 100, maxDelayMs: 100, retryMinMs: 50, retryMaxMs: 500 },
    http: { port: 0 },
    health: { port: 0 },
    retentionDays: 0,
    api: auth.api,
  });
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(200);
    last = await probe();
  }
  return last;
}

const distinctEvents = async (ch: ClickHouse): Promise<number> =>
  Number((await ch.query<{ n: string }>(sql`SELECT uniqExact(event_id) AS n FROM events`))[0]!.n);

function cliIo(env: Record<string, string>): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    env: { GATEHOUSE_TOKEN: auth.token, ...env },
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    fetch: (input, init) => fetch(input, init),
    now: () => new Date(),
    out,
    err,
  };
}

describe('recorder: Kafka → ClickHouse → replay', () => {
  let ch: ClickHouse;
  let recorder: Recorder;
  let base: string;
  const sessions: Event[][] = [];
  const approvals: Event[] = [];
  let corruptOffsetTopic = '';
  let topicNames = { sessions: '', approvals: '' };

  beforeAll(async () => {
    const db = await testDatabase();
    cleanups.push(db.drop);
    ch = db.ch;
    const topics = {
      sessions: await uniqueTopic('rec-sessions', 6),
      approvals: await uniqueTopic('rec-approvals', 3),
    };
    corruptOffsetTopic = topics.sessions;
    topicNames = topics;
    approvals.push(...approvalStream('apr-77', 'gw-session-1'));
    for (let i = 0; i < 5; i++)
      sessions.push(postgresScenario({ rows: 150 + i, email: `user${i}@example.com` }));
    const records = sessions
      .flat()
      .map((e) => ({ topic: topics.sessions, key: e.sessionId, value: Buffer.from(encodeEvent(e)) }));
    // A producer retry after a lost acknowledgement: the same event twice.
    records.push({ ...records[3]! });
    for (const e of approvals)
      records.push({ topic: topics.approvals, key: 'apr-77', value: Buffer.from(encodeEvent(e)) });
    records.push({ topic: topics.sessions, key: 'garbage', value: Buffer.from([0xff, 0x01, 0x02, 0x03]) });
    await publishAll(records);
    recorder = await startRecorder(
      recorderConfig({ url: db.opts.url, database: db.opts.database }, topics),
      testLogger,
    );
    cleanups.push(() => recorder.stop());
    base = `http://127.0.0.1:${recorder.httpPort}`;
    const total = sessions.flat().length + approvals.length;
    await waitFor(
      'all events',
      () => distinctEvents(ch),
      (n) => n === total,
    );
    await waitFor(
      'dead letter',
      async () =>
        Number((await ch.query<{ n: string }>(sql`SELECT count() AS n FROM dead_letters FINAL`))[0]!.n),
      (n) => n === 1,
    );
  });

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

  it('retries a failing ClickHouse write without losing or committing, then recovers', async () => {
    const health = `http://127.0.0.1:${recorder.healthPort}`;
    await ch.command(sql`RENAME TABLE events TO events_parked`);
    let restored = false;
    try {
      const extra = postgresScenario({ rows: 5, email: 'late@example.com' });
      await publishAll(
        extra.map((e) => ({
          topic: topicNames.sessions,
          key: e.sessionId,
          value: Buffer.from(encodeEvent(e)),
        })),
      );
      await waitFor(
        'failed writes',
        async () =>
          /gatehouse_recorder_insert_failures_total (\d+)/.exec(
            await (await fetch(`${health}/metrics`)).text(),
          )?.[1],
        (n) => Number(n) >= 2,
        30_000,
      );
      expect((await fetch(`${health}/readyz`)).status).toBe(503);
      await ch.command(sql`RENAME TABLE events_parked TO events`);
      restored = true;
      await waitFor(
        'the late session',
        async () =>
          Number(
            (
              await ch.query<{ n: string }>(
                sql`SELECT uniqExact(event_id) AS n FROM events WHERE session_id = ${extra[0]!.sessionId}`,
              )
            )[0]!.n,
          ),
        (n) => n === extra.length,
        30_000,
      );
      await waitFor(
        'ready again',
        async () => (await fetch(`${health}/readyz`)).status,
        (s) => s === 200,
        20_000,
      );
    } finally {
      if (!restored) await ch.command(sql`RENAME TABLE events_parked TO events`).catch(() => undefined);
    }
  });

  it('exposes metrics and readiness', async () => {
    const health = `http://127.0.0.1:${recorder.healthPort}`;
    const ready = await waitFor(
      'ready',
      async () => (await fetch(`${health}/readyz`)).status,
      (s) => s === 200,
      20_000,
    );
    expect(ready).toBe(200);
    const metrics = await (await fetch(`${health}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_recorder_dead_letters_total\{topic="[^"]+"\} 1/);
    expect(metrics).toContain('gatehouse_recorder_insert_batch_rows_bucket');
  });
});
