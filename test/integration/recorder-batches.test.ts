import { create, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBatchSchema, EventSchema } from '../../proto/gen/gatehouse/v1/events_pb.js';
import { postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import type { ClickHouse } from '../../services/recorder/clickhouse/client.js';
import { startRecorder } from '../../services/recorder/recorder.js';
import { toEventRow } from '../../services/recorder/store/event-row.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { encodeAsBatches } from '../../services/shared/events/event-batch.js';
import { testDatabase } from '../support/clickhouse.js';
import { testLogger, uniqueTopic } from '../support/kafka.js';
import { publishAll, recorderConfig } from '../support/recorded-scenario.js';
import { startRecorderAuth } from '../support/recorder-auth.js';
import { waitFor } from '../support/wait.js';

/**
 * The recorder reads event batches (several events of one session per Kafka record) next to single-event records:
 * the same rows, each event once even when a batch is delivered twice, and a forged batch kept whole as a dead letter.
 */
let ch: ClickHouse;
let batched: Event[];
let single: Event[];
const cleanups: (() => Promise<unknown>)[] = [];

/** A batch of `session`'s first two events whose second frame claims `patch` (what a forger could write). */
function forgedBatch(events: readonly Event[], patch: { seq?: bigint; sessionId?: string }): Buffer {
  const [a, b] = events;
  const frame = (e: Event, p: { seq?: bigint; sessionId?: string } = {}) =>
    create(EventSchema, {
      eventId: e.eventId,
      seq: p.seq ?? e.seq,
      sessionId: p.sessionId,
      tsMicros: e.tsMicros,
      body: e.body,
    });
  const envelope = create(EventSchema, {
    eventId: a!.eventId,
    sessionId: a!.sessionId,
    seq: a!.seq,
    tsMicros: a!.tsMicros,
    nodeId: a!.nodeId,
    body: { case: 'batch', value: create(EventBatchSchema, { events: [frame(a!), frame(b!, patch)] }) },
  });
  return Buffer.from(toBinary(EventSchema, envelope));
}

beforeAll(async () => {
  const auth = await startRecorderAuth();
  cleanups.push(() => auth.idp.stop());
  const db = await testDatabase();
  cleanups.push(db.drop);
  ch = db.ch;
  const topics = {
    sessions: await uniqueTopic('rec-batches', 6),
    approvals: await uniqueTopic('rec-batches-apr', 1),
  };
  batched = postgresScenario({ rows: 320, email: 'batched@example.com' });
  single = postgresScenario({ rows: 10, email: 'single@example.com' });
  const forgery = postgresScenario({ email: 'forged@example.com' });
  const rec = (key: string, value: Buffer) => ({ topic: topics.sessions, key, value });
  const batches = encodeAsBatches(batched, 4).map((v) => rec(batched[0]!.sessionId, v));
  expect(batches.length).toBeGreaterThan(2);
  await publishAll([
    // Every batch twice, as after a lost acknowledgement or a recorder crash before its commit.
    ...batches,
    ...batches,
    ...single.map((e) => rec(e.sessionId, Buffer.from(encodeEvent(e)))),
    rec(forgery[0]!.sessionId, forgedBatch(forgery, { seq: forgery[1]!.seq + 1n })),
    rec(forgery[0]!.sessionId, forgedBatch(forgery, { sessionId: single[0]!.sessionId })),
  ]);
  const recorder = await startRecorder(recorderConfig(auth, db.opts, topics), testLogger);
  cleanups.push(() => recorder.stop());
  await waitFor(
    'every event and both dead letters',
    async () => {
      const [events] = await ch.query<{ n: string }>(sql`SELECT uniqExact(event_id) AS n FROM events`);
      const [dead] = await ch.query<{ n: string }>(sql`SELECT count() AS n FROM dead_letters FINAL`);
      return [Number(events!.n), Number(dead!.n)];
    },
    ([events, dead]) => events === batched.length + single.length && dead === 2,
  );
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('recorder: event batches', () => {
  it('stores each event of a twice-delivered batch once, exactly as the single event it stands for', async () => {
    const rows = await ch.query<Record<string, unknown>>(
      sql`SELECT event_id, session_id, seq, ts_micros, node_id, kind, protocol, connection, identity_sub,
            identity_email, identity_groups, is_agent, request_id, policy_revision, statement, frame, rows, code, text,
            hex(payload) AS payload, event_json
          FROM events FINAL WHERE session_id = ${batched[0]!.sessionId} ORDER BY seq`,
    );
    const texts = new Map(
      batched.flatMap((e) =>
        e.body.case === 'request' ? [[e.body.value.requestId, e.body.value.text]] : [],
      ),
    );
    const statements = { byRequest: (_: string, id: number) => texts.get(id), byApproval: () => undefined };
    const at = { topic: 't', partition: 0, offset: '0' };
    const want = batched.map((e) => {
      const r = toEventRow(e, at, statements);
      return {
        ...Object.fromEntries(Object.keys(rows[0]!).map((k) => [k, r[k as keyof typeof r]])),
        seq: String(r.seq),
        ts_micros: String(r.ts_micros),
        is_agent: r.is_agent ? 1 : 0,
        payload: Buffer.from(r.payload).toString('hex').toUpperCase(),
      };
    });
    expect(rows).toEqual(want);
    expect(rows.slice(1).every((r) => r['identity_email'] === 'batched@example.com')).toBe(true);
  });

  it('summarises the batched session without double counting', async () => {
    const [summary] = await ch.query<{
      events: string;
      last_seq: string;
      rows_returned: string;
      identity_email: string;
    }>(
      sql`SELECT events, last_seq, rows_returned, identity_email FROM sessions
          WHERE session_id = ${batched[0]!.sessionId} ORDER BY version DESC LIMIT 1`,
    );
    expect(summary).toEqual({
      events: String(batched.length),
      last_seq: String(batched.length),
      rows_returned: '320',
      identity_email: 'batched@example.com',
    });
  });

  it('keeps a batch with a seq gap or a frame of another session whole in dead_letters, recording none of it', async () => {
    const dead = await ch.query<{ error_code: string; error: string }>(
      sql`SELECT error_code, error FROM dead_letters FINAL ORDER BY kafka_offset`,
    );
    expect(dead.map((d) => d.error_code)).toEqual(['GH_ERR_EVENT_DECODE', 'GH_ERR_EVENT_DECODE']);
    expect(dead.map((d) => /has seq \d+, not \d+|names another session/.exec(d.error)?.[0]).sort()).toEqual([
      'has seq 3, not 2',
      'names another session',
    ]);
    const [forged] = await ch.query<{ n: string }>(
      sql`SELECT count() AS n FROM events WHERE identity_email = 'forged@example.com'`,
    );
    expect(forged!.n).toBe('0');
    const [singleRows] = await ch.query<{ n: string }>(
      sql`SELECT count() AS n FROM events FINAL WHERE session_id = ${single[0]!.sessionId}`,
    );
    expect(Number(singleRows!.n)).toBe(single.length);
  });
});
