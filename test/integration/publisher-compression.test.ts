import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import type { PublisherOptions } from '../../services/shared/log/publisher.js';
import { testKafka, testLogger, uniqueTopic } from '../support/kafka.js';
import { kafkaBrokers, stackValue } from '../support/stack.js';

const run = promisify(execFile);

/** A Kafka tool of the stack's own Kafka (Java), as the admin principal over SASL/TLS. */
async function kafkaTool(main: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run(
    'java',
    [
      '-cp',
      `${stackValue('GATEHOUSE_KAFKA_LIBS')}/*`,
      main,
      '--bootstrap-server',
      kafkaBrokers().join(','),
      ...args,
    ],
    { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** The bytes a partition holds on the broker that leads it (LogDirsCommand: what the brokers store and replicate). */
async function partitionBytes(topic: string): Promise<number> {
  const out = await kafkaTool('org.apache.kafka.tools.LogDirsCommand', [
    '--command-config',
    stackValue('GATEHOUSE_KAFKA_ADMIN_CLIENT_PROPERTIES'),
    '--describe',
    '--topic-list',
    topic,
  ]);
  const json = JSON.parse(out.trim().split('\n').at(-1)!) as {
    brokers: { logDirs: { partitions: { partition: string; size: number }[] }[] }[];
  };
  const sizes = json.brokers.flatMap((b) => b.logDirs.flatMap((d) => d.partitions.map((p) => p.size)));
  return Math.max(...sizes);
}

/** Audit-like records: JSON frames that repeat their keys and most values, as a session's events do. */
const records = Array.from({ length: 400 }, (_, i) =>
  JSON.stringify({
    request: { kind: 'http.GET', text: `GET /customers?page=${i} HTTP/1.1`, query: { page: String(i) } },
    decision: { allow: true, reasons: ['engineering reads customers'], audit: 'batched', memo: i % 2 === 0 },
    response: {
      status: 200,
      body: Array.from({ length: 12 }, (_, j) => ({ id: i * 12 + j, mail: `u${j}@example.com` })),
    },
  }),
);
const rawBytes = records.reduce((n, r) => n + Buffer.byteLength(r), 0);

describe('KafkaPublisher compression', () => {
  const publishers: KafkaPublisher[] = [];
  afterAll(() => Promise.all(publishers.map((p) => p.close(10_000))));

  const publishAll = async (compression: PublisherOptions['compression']): Promise<string> => {
    const topic = await uniqueTopic(`publisher-${compression}`, 1);
    const publisher = new KafkaPublisher(testKafka(`publisher-${compression}`), testLogger, { compression });
    publishers.push(publisher);
    publisher.start();
    const record = (i: number) => ({ topic, key: `s${i % 4}`, value: Buffer.from(records[i]!) });
    for (let i = 0; i < records.length - 1; i++) publisher.publishBatched(record(i));
    await publisher.publishDurable(record(records.length - 1)); // acknowledged with everything before it
    return topic;
  };

  it('writes LZ4 batches that the brokers store compressed and Kafka’s own Java consumer reads back exactly', async () => {
    const [lz4, none] = await Promise.all([publishAll('lz4'), publishAll('none')]);
    const [lz4Bytes, noneBytes] = await Promise.all([partitionBytes(lz4), partitionBytes(none)]);
    expect(noneBytes).toBeGreaterThan(rawBytes); // control: stored as sent
    expect(lz4Bytes).toBeLessThan(rawBytes / 4);

    const out = await kafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
      '--consumer.config',
      stackValue('GATEHOUSE_KAFKA_ADMIN_CLIENT_PROPERTIES'),
      '--topic',
      lz4,
      '--from-beginning',
      '--max-messages',
      String(records.length),
      '--timeout-ms',
      '60000',
    ]);
    expect(out.trim().split('\n')).toEqual(records);
  }, 180_000);
});
