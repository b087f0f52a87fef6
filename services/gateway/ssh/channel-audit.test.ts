import { describe, expect, it } from 'vitest';
import { kafkaConfigSchema } from '../../shared/config/kafka-config.js';
import { recordBytes } from '../../shared/log/log-record.js';
import { sshRecordBytes } from './channel-audit.js';

describe('sshRecordBytes', () => {
  const sessionId = 'f47ac10b-58cc-4372-a567-0e02b3c479d6';
  const record = (bytes: number) => ({ topic: 't', key: sessionId, value: Buffer.alloc(bytes), seq: 1n });

  it('lets two full records of a session travel in one produce request (default config)', () => {
    const { maxEventBytes, maxBatchBytes } = kafkaConfigSchema.parse({ brokers: ['b:9092'] }).publisher;
    const n = sshRecordBytes(maxEventBytes, maxBatchBytes);
    expect(n).toBeLessThanOrEqual(maxEventBytes);
    expect(2 * recordBytes(record(n))).toBeLessThanOrEqual(maxBatchBytes);
    // ... and is not needlessly small: a third would not fit
    expect(3 * recordBytes(record(n))).toBeGreaterThan(maxBatchBytes);
  });

  it('keeps maxEventBytes when it is already small', () => {
    expect(sshRecordBytes(64 * 1024, 900 * 1024)).toBe(64 * 1024);
  });
});
