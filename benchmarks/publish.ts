/**
 * Batched publish throughput at acks=all: Gatehouse's KafkaPublisher vs Kafka's own Java producer
 * (ProducerPerformance from kafka-tools) with the same record size, side by side in one run. Both run over the
 * stack's SASL_SSL listener (SCRAM-SHA-512, admin principal); when the stack was started with a benchmark-only
 * plaintext listener (GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT), a second column shows the same without TLS and
 * SASL.
 *
 *   npm run stack:up && npm run bench:publish -- [--records 200000] [--size 512]
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../services/shared/log/kafka.js';
import { PublishBufferFullError } from '../services/shared/log/errors.js';
import { KafkaPublisher } from '../services/shared/log/publisher.js';
import { testKafka, testLogger, uniqueTopic } from '../test/support/kafka.js';
import { kafkaBrokers, PROJECT_ROOT, stackEnv } from '../test/support/stack.js';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '200000' }, size: { type: 'string', default: '512' } },
});
const records = Number(values.records);
const size = Number(values.size);

type Route = {
  name: string;
  kafka: () => Kafka;
  /** ProducerPerformance `--producer-props` and, for SASL_SSL, a `--producer.config` file. */
  javaProps: string[];
  javaConfig?: string;
};

async function gatehouse(route: Route): Promise<number> {
  const topic = await uniqueTopic('bench-gh', 12);
  const publisher = new KafkaPublisher(route.kafka(), testLogger, {
    maxBufferedEvents: 50_000,
    durableTimeoutMs: 300_000,
  });
  publisher.start();
  const payload = Buffer.alloc(size, 7);
  const keys = Array.from({ length: 1000 }, () => randomUUID());
  // Warm up: connection, metadata, producer id.
  await publisher.publishDurable({ topic, key: keys[0]!, value: payload });
  const started = performance.now();
  let sent = 0;
  while (sent < records) {
    try {
      publisher.publishBatched({ topic, key: keys[sent % keys.length]!, value: payload });
      sent++;
    } catch {
      await new Promise((r) => setTimeout(r, 1)); // buffer full: back-pressure, as a gateway node would refuse
    }
  }
  // The last record, durable: when it is acknowledged, every record before it is (one request in flight, in order).
  for (;;) {
    try {
      await publisher.publishDurable({ topic, key: keys[0]!, value: payload });
      break;
    } catch (err) {
      if (!(err instanceof PublishBufferFullError)) throw err;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await publisher.close();
  return records / seconds;
}

async function javaProducer(route: Route): Promise<number> {
  const topic = await uniqueTopic('bench-java', 12);
  const libs = join(PROJECT_ROOT, '.stack', 'kafka', 'libs', '*');
  const out = execFileSync(
    'java',
    [
      '-Xmx512m',
      '-cp',
      libs,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      String(size),
      '--throughput',
      '-1',
      ...(route.javaConfig ? ['--producer.config', route.javaConfig] : []),
      '--producer-props',
      ...route.javaProps,
      'acks=all',
      'enable.idempotence=true',
      'linger.ms=5',
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const last = out.trim().split('\n').at(-1) ?? '';
  const m = /records sent, ([\d.]+) records\/sec/.exec(last);
  if (!m) throw new Error(`unexpected ProducerPerformance output: ${last}`);
  return Number(m[1]);
}

const routes: Route[] = [];
const adminProps = stackEnv().GATEHOUSE_KAFKA_ADMIN_CLIENT_PROPERTIES;
routes.push({
  name: adminProps ? 'SASL_SSL' : 'plaintext',
  kafka: () => testKafka('bench'),
  javaProps: [`bootstrap.servers=${kafkaBrokers().join(',')}`],
  ...(adminProps ? { javaConfig: adminProps } : {}),
});
const plain = stackEnv().GATEHOUSE_KAFKA_BENCH_PLAINTEXT_BROKERS;
if (adminProps && plain) {
  routes.push({
    name: 'plaintext',
    kafka: () => createKafka({ brokers: plain.split(','), clientId: 'bench-plain', logger: testLogger }),
    javaProps: [`bootstrap.servers=${plain}`],
  });
}

const results: { gh: number; java: number }[] = [];
for (const route of routes) results.push({ gh: await gatehouse(route), java: await javaProducer(route) });
const cell = (v: number) => `${v.toFixed(0).padStart(12)}`;
const row = (name: string, pick: (r: { gh: number; java: number }) => number) =>
  `${name.padEnd(34)}${results.map((r) => cell(pick(r))).join('')}  events/s`;
console.log(`\nbatched publish, acks=all, ${records} records of ${size} bytes, 12 partitions`);
console.log(`${''.padEnd(34)}${routes.map((r) => r.name.padStart(12)).join('')}`);
console.log(row('gatehouse KafkaPublisher (kafkajs)', (r) => r.gh));
console.log(row('kafka ProducerPerformance (Java)', (r) => r.java));
console.log(
  `${'ratio gatehouse/java'.padEnd(34)}${results.map((r) => (r.gh / r.java).toFixed(2).padStart(12)).join('')}`,
);
if (results.length === 2) {
  const cost = (pick: (r: { gh: number; java: number }) => number) =>
    `${((1 - pick(results[0]!) / pick(results[1]!)) * 100).toFixed(1)}%`;
  console.log(`TLS+SASL cost: gatehouse ${cost((r) => r.gh)}, java ${cost((r) => r.java)} fewer events/s`);
}
