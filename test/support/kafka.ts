import { randomUUID } from 'node:crypto';
import { createKafka } from '../../services/shared/log/kafka.js';
import { kafkaSecurity } from '../../services/shared/log/kafka-security.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import { createLogger } from '../../services/shared/logger.js';
import type { Logger } from '../../services/shared/logger.js';
import { kafkaConnection, stackEnv } from './stack.js';
import type { KafkaRole } from './stack.js';

export const testLogger: Logger = createLogger({
  service: 'test',
  level: process.env.TEST_LOG_LEVEL ?? 'silent',
});

export function brokerCount(): number {
  return Number(stackEnv().GATEHOUSE_KAFKA_BROKER_COUNT ?? kafkaConnection('admin').brokers.length);
}

/** A kafkajs client of the stack, as `role` (default admin, a super user: topics, offsets, forged records). */
export function testKafka(clientId = 'gatehouse-test', role: KafkaRole = 'admin') {
  const connection = kafkaConnection(role);
  return createKafka({
    brokers: connection.brokers,
    clientId,
    security: kafkaSecurity(connection),
    logger: testLogger,
  });
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
