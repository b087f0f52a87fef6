import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClickHouse } from '../../services/recorder/clickhouse/client.js';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import { postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import { recorderClickHouse, testDatabase } from '../support/clickhouse.js';
import { startRecorderAuth } from '../support/recorder-auth.js';
import { testKafka, testLogger, uniqueTopic } from '../support/kafka.js';
import { kafkaConnection, PROJECT_ROOT } from '../support/stack.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

type Child = {
  proc: ChildProcess;
  output: string[];
  exit: Promise<{ code: number | null; signal: string | null }>;
};

/** Runs `gatehouse recorder --config FILE` in its own process (through runRecorder, as the CLI does). */
function spawnRecorder(configFile: string): Child {
  const script = [
    "import { runRecorder } from './services/recorder/main.ts';",
    `process.exitCode = await runRecorder(['--config', ${JSON.stringify(configFile)}]);`,
  ].join('\n');
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  proc.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exit;
  });
  return { proc, output, exit };
}

async function count(ch: ClickHouse, query: ReturnType<typeof sql>): Promise<number> {
  return Number((await ch.query<{ n: string }>(query))[0]!.n);
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  child?: Child,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${child ? `\nrecorder output:\n${child.output.join('').slice(-4000)}` : ''}`,
      );
    }
    await sleep(100);
  }
}

describe('recorder: crash and restart', () => {
  it('loses nothing and duplicates nothing when killed mid-stream, and drains on SIGTERM', async () => {
    const db = await testDatabase();
    cleanups.push(db.drop);
    const { ch } = db;
    const topics = {
      sessions: await uniqueTopic('rec-crash', 6),
      approvals: await uniqueTopic('rec-crash-appr', 3),
    };
    const sessions: Event[][] = Array.from({ length: 60 }, (_, i) =>
      postgresScenario({ rows: 150, email: `u${i}@example.com` }),
    );
    const events = sessions.flat();
    const total = events.length;

    const publisher = new KafkaPublisher(testKafka('recorder-crash-publisher'), testLogger);
    publisher.start();
    const records = events.map((e) => ({
      topic: topics.sessions,
      key: e.sessionId,
      value: Buffer.from(encodeEvent(e)),
    }));
    for (const r of records.slice(0, -1)) publisher.publishBatched(r);
    await publisher.publishDurable(records.at(-1)!);
    await publisher.close(10_000);

    const dir = mkdtempSync(join(tmpdir(), 'gh-recorder-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const configFile = join(dir, 'recorder.yaml');
    const groupId = `test-recorder-crash-${randomUUID().slice(0, 8)}`;
    const auth = await startRecorderAuth();
    cleanups.push(() => auth.idp.stop());
    writeFileSync(
      configFile,
      stringify({
        nodeId: 'crash-test',
        logLevel: 'warn',
        groupId,
        kafka: { ...kafkaConnection('recorder'), topics: { ...topics, provision: false } },
        clickhouse: recorderClickHouse(db.opts),
        // Small fetches and batches, so the kill lands while the stream is half written.
        consumer: { partitionsConcurrently: 1, maxBytesPerPartition: 4096, sessionTimeoutMs: 6000 },
        batch: { maxRows: 20, maxDelayMs: 20, retryMinMs: 50, retryMaxMs: 500 },
        http: { port: 0 },
        health: { port: 0 },
        retentionDays: 0,
        api: auth.api,
      }),
    );

    // 1. Start, let part of the stream land, then SIGKILL: no drain, no commit of the batch in flight.
    const first = spawnRecorder(configFile);
    await waitUntil(
      'a partial write',
      async () => (await count(ch, sql`SELECT count() AS n FROM events`)) >= 100,
      90_000,
      first,
    );
    first.proc.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');
    const afterKill = await count(ch, sql`SELECT uniqExact(event_id) AS n FROM events`);
    expect(afterKill).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(total);

    // 2. Restart (same group): it resumes from the committed offsets and finishes the stream.
    const second = spawnRecorder(configFile);
    await waitUntil(
      'every event',
      async () => (await count(ch, sql`SELECT uniqExact(event_id) AS n FROM events`)) === total,
      120_000,
      second,
    );

    // 3. SIGTERM drains: commit, exit 0.
    await sleep(500);
    second.proc.kill('SIGTERM');
    const exit = await second.exit;
    expect(exit, second.output.join('').slice(-3000)).toEqual({ code: 0, signal: null });

    // Offsets of the group are at the end of every partition.
    const admin = testKafka('recorder-crash-admin').admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(topics.sessions);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.sessions] });
      for (const end of ends) {
        const c = committed!.partitions.find((p) => p.partition === end.partition);
        expect(c?.offset, `partition ${end.partition}`).toBe(end.high);
      }
    } finally {
      await admin.disconnect();
    }

    // Nothing lost, nothing duplicated in query results (physical duplicates from the redelivery may exist).
    const raw = await count(ch, sql`SELECT count() AS n FROM events`);
    expect(raw).toBeGreaterThanOrEqual(total);
    expect(await count(ch, sql`SELECT count() AS n FROM events FINAL`)).toBe(total);
    expect(
      await count(ch, sql`SELECT count() AS n FROM (SELECT event_id FROM events LIMIT 1 BY event_id)`),
    ).toBe(total);
    const ids = await ch.query<{ event_id: string }>(sql`SELECT DISTINCT event_id FROM events`);
    expect(new Set(ids.map((r) => r.event_id))).toEqual(new Set(events.map((e) => e.eventId)));

    // Every session is complete and in order, and its summary counts each event once.
    const seqs = await ch.query<{ session_id: string; seqs: string[] }>(
      sql`SELECT session_id, groupArray(seq) AS seqs FROM (SELECT session_id, seq FROM events FINAL ORDER BY session_id, seq) GROUP BY session_id`,
    );
    expect(seqs).toHaveLength(sessions.length);
    const perSession = sessions[0]!.length;
    for (const r of seqs)
      expect(r.seqs.map(Number)).toEqual(Array.from({ length: perSession }, (_, i) => i + 1));
    const summaries = await ch.query<{
      events: string;
      requests: string;
      rows_returned: string;
      denied: string;
    }>(sql`SELECT events, requests, rows_returned, denied FROM sessions FINAL`);
    expect(summaries).toHaveLength(sessions.length);
    for (const s of summaries) {
      expect(s).toEqual({ events: String(perSession), requests: '3', rows_returned: '150', denied: '1' });
    }
    console.log(
      `crash test: ${total} events, ${afterKill} written before the kill, ${raw - total} physical duplicates`,
    );
  });
});
