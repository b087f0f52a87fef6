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

  it('compresses with LZ4 by default, can be turned off, and names an unknown codec by its path', () => {
    expect(kafkaConfigSchema.parse({ brokers: ['k:9092'] }).publisher.compression).toBe('lz4');
    const off = kafkaConfigSchema.parse({ brokers: ['k:9092'], publisher: { compression: 'none' } });
    expect(off.publisher.compression).toBe('none');
    const r = kafkaConfigSchema.safeParse({ brokers: ['k:9092'], publisher: { compression: 'zstd' } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['publisher.compression']);
  });
});
