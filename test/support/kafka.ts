import { randomUUID } from 'node:crypto';
import { createKafka } from '../../services/shared/log/kafka.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import { createLogger } from '../../services/shared/logger.js';
import type { Logger } from '../../services/shared/logger.js';
import { kafkaBrokers, stackEnv } from './stack.js';

export const testLogger: Logger = createLogger({
  service: 'test',
  level: process.env.TEST_LOG_LEVEL ?? 'silent',
});

export function brokerCount(): number {
  return Number(stackEnv().GATEHOUSE_KAFKA_BROKER_COUNT ?? kafkaBrokers().length);
}

export function testKafka(clientId = 'gatehouse-test') {
  return createKafka({ brokers: kafkaBrokers(), clientId, logger: testLogger });
}

/** A fresh topic for one test, replicated like production on the three-broker stack. */
export async function uniqueTopic(prefix: string, partitions = 6): Promise<string> {
  const name = `test.${prefix}.${randomUUID().slice(0, 8)}`;
  const rf = Math.min(3, brokerCount());
  await ensureTopics(testKafka(), [
    { name, partitions, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 },
  ]);
  return name;
}
