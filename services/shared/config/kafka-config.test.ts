import { describe, expect, it } from 'vitest';
import { kafkaConfigSchema } from './kafka-config.js';

describe('kafka config bounds', () => {
  it('defaults keep every event and batch under the topics’ max.message.bytes', () => {
    const k = kafkaConfigSchema.parse({ brokers: ['k:9092'] });
    expect(k.topics.maxMessageBytes).toBe(1024 * 1024);
    expect(k.publisher.maxEventBytes).toBe(512 * 1024);
    expect(k.publisher.maxEventBytes).toBeLessThanOrEqual(k.publisher.maxBatchBytes);
    expect(k.publisher.maxBatchBytes + 4096).toBeLessThanOrEqual(k.topics.maxMessageBytes);
  });

  it('rejects a batch that would not fit the topic, and an event larger than a batch', () => {
    const r = kafkaConfigSchema.safeParse({
      brokers: ['k:9092'],
      topics: { maxMessageBytes: 512 * 1024 },
      publisher: { maxEventBytes: 1024 * 1024 },
    });
    expect(r.success).toBe(false);
    const paths = r.error?.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['publisher.maxBatchBytes', 'publisher.maxEventBytes']);
  });
});
