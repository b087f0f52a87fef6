import type { Kafka } from 'kafkajs';
import { LogTail } from '../../shared/log/log-tail.js';
import type { TailRecord } from '../../shared/log/log-tail.js';
import type { Logger } from '../../shared/logger.js';
import { PolicyUsageError } from './policy-cli-env.js';

/**
 * Reads a whole topic (as of now) and returns its records in log order. Bounded: at most `maxRecords` are kept
 * (the oldest dropped) and the read gives up after `timeoutMs`.
 */
export async function readTopic(
  kafka: Kafka,
  log: Logger,
  o: { topic: string; groupIdPrefix: string; timeoutMs: number; maxRecords: number },
): Promise<TailRecord[]> {
  const tail = new LogTail({
    kafka,
    log,
    topic: o.topic,
    groupIdPrefix: o.groupIdPrefix,
    maxWaitTimeMs: 200,
  });
  const records: TailRecord[] = [];
  try {
    await tail.start((r) => {
      records.push(r);
      if (records.length > o.maxRecords) records.shift();
    });
    if (!(await tail.waitCaughtUp(o.timeoutMs))) {
      throw new PolicyUsageError(`topic ${o.topic} not read to its end within ${o.timeoutMs} ms`);
    }
  } finally {
    await tail.stop();
  }
  return records;
}
