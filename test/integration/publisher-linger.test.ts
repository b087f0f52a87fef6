import { afterAll, describe, expect, it } from 'vitest';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import { testKafka, testLogger, uniqueTopic } from '../support/kafka.js';

/**
 * The publisher lingers only while a produce request's worth has not gathered: a bulk stream (an SSH `cat` of a
 * large file) must not wait out every linger window with full records in hand.
 */
describe('KafkaPublisher linger', () => {
  const publisher = new KafkaPublisher(testKafka('publisher-linger'), testLogger, {
    lingerMs: 60_000,
    maxBatchBytes: 64 * 1024,
  });
  publisher.start();
  afterAll(() => publisher.close(10_000));

  it('sends at once when the buffered records fill a produce request, lingers while they do not', async () => {
    const topic = await uniqueTopic('publisher-linger', 1);
    const record = (i: number) => ({ topic, key: `s${i}`, value: Buffer.alloc(16 * 1024, i) });
    await publisher.publishDurable(record(0)); // connected, metadata known
    const sentBefore = publisher.stats().sentEvents;

    publisher.publishBatched(record(1)); // 16 KiB of 64: lingers
    await new Promise((r) => setTimeout(r, 1_000));
    expect(publisher.stats().sentEvents).toBe(sentBefore);

    for (let i = 2; i <= 4; i++) publisher.publishBatched(record(i)); // 64 KiB buffered: a full request
    const t0 = Date.now();
    while (publisher.stats().sentEvents === sentBefore && Date.now() - t0 < 10_000)
      await new Promise((r) => setTimeout(r, 20));
    // A request's worth went at once (what does not fit in it lingers on).
    expect(publisher.stats().sentEvents).toBeGreaterThanOrEqual(sentBefore + 3);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
