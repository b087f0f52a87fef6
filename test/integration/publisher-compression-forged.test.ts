import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompressionTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../services/shared/log/kafka.js';
import { kafkaSecurity } from '../../services/shared/log/kafka-security.js';
import { MAX_DECOMPRESSED_BYTES } from '../../services/shared/log/lz4-codec.js';
import { createLogger } from '../../services/shared/logger.js';
import { testKafka, uniqueTopic } from '../support/kafka.js';
import { kafkaConnection } from '../support/stack.js';

/**
 * A principal with Write on a topic (a gateway's, if stolen) writes a well-formed LZ4 batch that expands far past
 * what any Gatehouse producer writes: Kafka's broker accepts it (it bounds the compressed batch only). A consumer
 * must neither run out of memory on it nor skip it: it stops at the batch and says why.
 */
describe('a forged LZ4 compression bomb on a topic', () => {
  it('is refused by consumers before decompressing: nothing skipped past it, memory bounded, an error logged', async () => {
    const topic = await uniqueTopic('lz4-bomb', 1);
    const producer = testKafka('lz4-bomb-writer').producer();
    await producer.connect();
    const send = (value: Buffer | string) =>
      producer.send({ topic, messages: [{ value }], compression: CompressionTypes.LZ4, acks: -1 });
    await send('before');
    // 80 MiB of zeros as one record: ~0.3 MiB compressed, well under the topic's max.message.bytes.
    await send(Buffer.alloc(MAX_DECOMPRESSED_BYTES + 16 * 1024 * 1024));
    await send('after');
    await producer.disconnect();

    const lines: string[] = [];
    const logger = createLogger({
      service: 'test',
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    const connection = kafkaConnection('admin');
    const kafka = createKafka({
      brokers: connection.brokers,
      clientId: 'lz4-bomb-reader',
      security: kafkaSecurity(connection),
      logger,
    });
    const consumer = kafka.consumer({ groupId: `${topic}.reader` });
    const got: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const rssBefore = process.memoryUsage().rss;
    await consumer.run({
      eachMessage: ({ message }) => {
        got.push(
          message.value!.length > 100 ? `<${message.value!.length} bytes>` : message.value!.toString(),
        );
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + 30_000;
    while (!lines.some((l) => l.includes('LZ4 record batch was refused')) && Date.now() < deadline)
      await sleep(200);
    await sleep(3_000); // room for anything that would wrongly come after the refused batch
    await consumer.disconnect();

    // Neither the bomb nor what follows it (a fetch that holds the bomb is refused whole, so 'before' comes only when
    // an earlier fetch ended before the bomb).
    expect(got.filter((v) => v !== 'before')).toEqual([]);
    const refusal = lines.find((l) => l.includes('LZ4 record batch was refused'));
    expect(refusal).toContain(`may expand past ${MAX_DECOMPRESSED_BYTES} bytes`);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(48 * 1024 * 1024);
  }, 90_000);
});
