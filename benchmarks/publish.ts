/**
 * Batched publish throughput at acks=all: Gatehouse's KafkaPublisher vs Kafka's own Java producer
 * (ProducerPerformance from kafka-tools) with the same record size, side by side in one run.
 *
 *   npm run stack:up && npm run bench:publish -- [--records 200000] [--size 512]
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KafkaPublisher } from '../services/shared/log/publisher.js';
import { testKafka, testLogger, uniqueTopic } from '../test/support/kafka.js';
import { kafkaBrokers, PROJECT_ROOT } from '../test/support/stack.js';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '200000' }, size: { type: 'string', default: '512' } },
});
const records = Number(values.records);
const size = Number(values.size);

async function gatehouse(): Promise<number> {
  const topic = await uniqueTopic('bench-gh', 12);
  const publisher = new KafkaPublisher(testKafka('bench'), testLogger, { maxBufferedEvents: 50_000 });
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
  await publisher.publishDurable({ topic, key: keys[0]!, value: payload });
  const seconds = (performance.now() - started) / 1000;
  await publisher.close();
  return records / seconds;
}

async function javaProducer(): Promise<number> {
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
      '--producer-props',
      `bootstrap.servers=${kafkaBrokers().join(',')}`,
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

const gh = await gatehouse();
const java = await javaProducer();
const row = (name: string, v: number) => `${name.padEnd(34)} ${v.toFixed(0).padStart(10)} events/s`;
console.log(`\nbatched publish, acks=all, ${records} records of ${size} bytes, 12 partitions`);
console.log(row('gatehouse KafkaPublisher (kafkajs)', gh));
console.log(row('kafka ProducerPerformance (Java)', java));
console.log(`ratio gatehouse/java: ${(gh / java).toFixed(2)}`);
