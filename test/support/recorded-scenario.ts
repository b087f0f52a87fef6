import { randomUUID } from 'node:crypto';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import type { ClickHouse } from '../../services/recorder/clickhouse/client.js';
import { parseRecorderConfig } from '../../services/recorder/config.js';
import type { RecorderConfig } from '../../services/recorder/config.js';
import { startRecorder } from '../../services/recorder/recorder.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import type { CliIo } from '../../services/recorder/cli/cli-io.js';
import { approvalStream, postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import { recorderClickHouse, testDatabase } from './clickhouse.js';
import { kafkaConnection } from './stack.js';
import { testKafka, testLogger, uniqueTopic } from './kafka.js';
import { startRecorderAuth } from './recorder-auth.js';
import type { RecorderAuth } from './recorder-auth.js';
import { waitFor } from './wait.js';

/** Publishes every record batched, the last one durably (acknowledged only after everything before it). */
export async function publishAll(records: { topic: string; key: string; value: Buffer }[]): Promise<void> {
  const p = new KafkaPublisher(testKafka('recorder-test-publisher'), testLogger, { lingerMs: 5 });
  p.start();
  try {
    for (const r of records.slice(0, -1)) p.publishBatched(r);
    await p.publishDurable(records.at(-1)!);
  } finally {
    await p.close(10_000);
  }
}

export function recorderConfig(
  auth: RecorderAuth,
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

const distinctEvents = async (ch: ClickHouse): Promise<number> =>
  Number((await ch.query<{ n: string }>(sql`SELECT uniqExact(event_id) AS n FROM events`))[0]!.n);

/**
 * Five recorded PostgreSQL sessions (one event published twice, as after a lost acknowledgement), one approval
 * stream and one undecodable record, published to fresh topics and recorded into a fresh ClickHouse database by a
 * running recorder with its replay API. Resolves once every event and the dead letter are stored.
 */
export type RecordedScenario = {
  auth: RecorderAuth;
  ch: ClickHouse;
  recorder: Recorder;
  /** The replay API's base URL. */
  base: string;
  sessions: Event[][];
  approvals: Event[];
  topics: { sessions: string; approvals: string };
  /** CLI I/O with the analyst's token (overridable in `env`) that collects what the command prints. */
  cliIo: (env: Record<string, string>) => CliIo & { out: string[]; err: string[] };
  stop(): Promise<void>;
};

export async function startRecordedScenario(): Promise<RecordedScenario> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const auth = await startRecorderAuth();
    cleanups.push(() => auth.idp.stop());
    const db = await testDatabase();
    cleanups.push(db.drop);
    const { ch } = db;
    const topics = {
      sessions: await uniqueTopic('rec-sessions', 6),
      approvals: await uniqueTopic('rec-approvals', 3),
    };
    const approvals = approvalStream('apr-77', 'gw-session-1');
    const sessions: Event[][] = [];
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
    const recorder = await startRecorder(
      recorderConfig(auth, { url: db.opts.url, database: db.opts.database }, topics),
      testLogger,
    );
    cleanups.push(() => recorder.stop());
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
    const cliIo = (env: Record<string, string>) => {
      const out: string[] = [];
      const err: string[] = [];
      return {
        env: { GATEHOUSE_TOKEN: auth.token, ...env },
        stdout: (t: string) => void out.push(t),
        stderr: (t: string) => void err.push(t),
        fetch: (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => fetch(input, init),
        now: () => new Date(),
        out,
        err,
      };
    };
    return {
      auth,
      ch,
      recorder,
      base: `http://127.0.0.1:${recorder.httpPort}`,
      sessions,
      approvals,
      topics,
      cliIo,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
