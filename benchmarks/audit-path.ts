/**
 * CPU of the gateway's audit path alone, A/B in one process: sessions publish what a `pgbench -S -M prepared`
 * transaction publishes (a request event, a row description, a data row with its completion) through SessionAudit
 * and the Kafka publisher to the local stack's brokers, paced like a busy gateway, once with one record per event
 * (a publisher without `defer`) and once with event batches. Then a recorder's decoding and row building of what
 * was published. Prints CPU per transaction of this process (utime+stime) and of the brokers (/proc).
 *
 *   npm run stack:up && node --import tsx benchmarks/audit-path.ts [--tx 4000] [--sessions 4] [--rate 1000]
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { RequestSchema, ResponseSchema } from '../proto/gen/gatehouse/v1/events_pb.js';
import { SessionAudit } from '../services/gateway/session-audit.js';
import { decodeRecords } from '../services/recorder/ingest/decode-records.js';
import { toEventRow } from '../services/recorder/store/event-row.js';
import { SessionEvents } from '../services/shared/events/session-events.js';
import { EventConsumer } from '../services/shared/log/consumer.js';
import type { ConsumedRecord } from '../services/shared/log/consumer.js';
import { KafkaPublisher } from '../services/shared/log/publisher.js';
import type { EventPublisher } from '../services/shared/log/publisher.js';
import { testKafka, testLogger, uniqueTopic } from '../test/support/kafka.js';
import { stackValue } from '../test/support/stack.js';

const { values } = parseArgs({
  options: {
    tx: { type: 'string', default: '4000' },
    sessions: { type: 'string', default: '4' },
    rate: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'single,batch' },
  },
});
const TX = Number(values.tx);
const SESSIONS = Number(values.sessions);
const RATE = Number(values.rate);

const brokerPids = stackValue('GATEHOUSE_KAFKA_PID_FILES')
  .split(',')
  .map((f) => Number(readFileSync(f, 'utf8').trim()));

function procSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const brokersSeconds = (): number => brokerPids.reduce((n, p) => n + procSeconds(p), 0);
const selfSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The publisher as a caller without `defer` sees it: one record per event (the format before batches). */
function withoutDefer(p: KafkaPublisher): EventPublisher {
  return {
    publishBatched: (r) => p.publishBatched(r),
    publishDurable: (r) => p.publishDurable(r),
    assertAccepting: (b) => p.assertAccepting(b),
    stats: () => p.stats(),
    close: (t) => p.close(t),
  };
}

const rowDescription = Buffer.alloc(29, 1);
const dataRow = Buffer.alloc(32, 2);

async function produce(
  mode: 'single' | 'batch',
): Promise<{ topic: string; gateway: number; brokers: number }> {
  const topic = await uniqueTopic(`bench-audit-${mode}`, 6);
  const kafka = testKafka('bench-audit');
  const publisher = new KafkaPublisher(kafka, testLogger, { lingerMs: 5 });
  publisher.start();
  const target = mode === 'batch' ? publisher : withoutDefer(publisher);
  const audits = Array.from({ length: SESSIONS }, (_, i) => {
    const events = new SessionEvents({
      nodeId: 'bench-node',
      protocol: 'postgres',
      connection: { name: 'demo-pgbench', tags: { env: 'bench' } },
      identity: {
        sub: `bench-agent-${i}`,
        email: `bench-agent-${i}@example.com`,
        groups: ['agents'],
        agent: true,
        issuer: 'http://127.0.0.1:19400',
        client_id: 'bench',
      },
    });
    return new SessionAudit(events, target, topic, 512 * 1024);
  });
  // Warm up the producer and the topic metadata.
  await publisher.publishDurable({ topic, key: 'warm-up', value: Buffer.from('x') });
  const g0 = selfSeconds();
  const b0 = brokersSeconds();
  const perTickMs = 4;
  const perTick = Math.max(1, Math.round((RATE * perTickMs) / 1000 / SESSIONS));
  let done = 0;
  let requestId = 0;
  while (done < TX) {
    requestId++;
    for (const audit of audits) {
      for (let k = 0; k < perTick && done < TX; k++, done++) {
        audit.batched(
          {
            case: 'request',
            value: create(RequestSchema, {
              requestId,
              kind: 'sql.execute',
              text: 'SELECT abalance FROM pgbench_accounts WHERE aid = $1;',
            }),
          },
          'rev-0123456789abcdef',
        );
        audit.batched({
          case: 'response',
          value: create(ResponseSchema, { requestId, frame: 'row_description', data: rowDescription }),
        });
        audit.batched({
          case: 'response',
          value: create(ResponseSchema, {
            requestId,
            frame: 'data_rows',
            data: dataRow,
            rows: 1,
            text: 'SELECT 1',
          }),
        });
      }
    }
    await sleep(perTickMs);
  }
  await publisher.close(30_000);
  const gateway = selfSeconds() - g0;
  await sleep(1_000);
  return { topic, gateway, brokers: brokersSeconds() - b0 };
}

async function consume(topic: string): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  const consumer = new EventConsumer(testKafka('bench-audit-reader'), testLogger, {
    groupId: `bench-audit-${Date.now()}`,
    topics: [topic],
  });
  void consumer.start((batch) => {
    records.push(...batch);
    return Promise.resolve();
  });
  let events = 0;
  for (let i = 0; i < 600 && events < TX * 3; i++) {
    await sleep(100);
    events = decodeRecords(records).length;
  }
  await consumer.stop();
  return records;
}

/** The recorder's CPU for decoding records into rows (ClickHouse insert excluded). */
function recorderSeconds(records: readonly ConsumedRecord[]): { seconds: number; rows: number } {
  const statements = { byRequest: () => undefined, byApproval: () => undefined };
  const t0 = selfSeconds();
  let rows = 0;
  for (let i = 0; i < 5; i++) {
    for (const item of decodeRecords(records)) {
      if (item.type === 'event') {
        toEventRow(item.event, item.at, statements);
        rows++;
      }
    }
  }
  return { seconds: (selfSeconds() - t0) / 5, rows: rows / 5 };
}

const fmt = (s: number): string => ((s / TX) * 1e6).toFixed(1).padStart(9);
process.stdout.write(
  `${TX} transactions (3 events each), ${SESSIONS} sessions, ~${RATE} tx/s\n` +
    `mode    records  bytes/tx   gateway µs/tx  brokers µs/tx  recorder decode+rows µs/tx\n`,
);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const mode of values.modes.split(',') as ('single' | 'batch')[]) {
    const r = await produce(mode);
    const records = await consume(r.topic);
    const bytes = records.reduce((n, x) => n + x.value.length, 0);
    const rec = recorderSeconds(records);
    process.stdout.write(
      `${mode.padEnd(6)} ${String(records.length).padStart(8)} ${(bytes / TX).toFixed(0).padStart(9)} ` +
        `${fmt(r.gateway)}      ${fmt(r.brokers)}      ${fmt(rec.seconds)} (${rec.rows} rows)\n`,
    );
  }
}
process.exit(0);
