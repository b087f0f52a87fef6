import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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

/**
 * A fresh topic for one test, replicated like production on the three-broker stack. Retries ensureTopics on the
 * same name: right after CreateTopics, kafkajs' leader wait can fail with UNKNOWN_TOPIC_OR_PARTITION while the
 * metadata propagates.
 */
export async function uniqueTopic(prefix: string, partitions = 6): Promise<string> {
  const name = `test.${prefix}.${randomUUID().slice(0, 8)}`;
  const rf = Math.min(3, brokerCount());
  const spec = { name, partitions, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 };
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(testKafka(), [spec]);
      return name;
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(500);
    }
  }
}
