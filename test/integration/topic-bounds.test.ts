import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TopicProvisionError } from '../../services/shared/log/errors.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import { brokerCount, testKafka } from '../support/kafka.js';

async function maxMessageBytes(topic: string): Promise<number> {
  const admin = testKafka('test-topic-bounds').admin();
  await admin.connect();
  try {
    const d = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
    });
    return Number(d.resources[0]?.configEntries[0]?.configValue);
  } finally {
    await admin.disconnect();
  }
}

describe('topic provisioning sets and checks max.message.bytes (real Kafka)', () => {
  const rf = Math.min(3, brokerCount());
  const spec = (name: string, maxMessageBytes: number) => ({
    name,
    partitions: 3,
    replicationFactor: rf,
    minInsyncReplicas: rf >= 3 ? 2 : 1,
    maxMessageBytes,
  });

  it('creates a topic with the configured max.message.bytes and accepts it afterwards', async () => {
    const name = `test.bounds.${randomUUID().slice(0, 8)}`;
    await ensureTopics(testKafka(), [spec(name, 2 * 1024 * 1024)]);
    expect(await maxMessageBytes(name)).toBe(2 * 1024 * 1024);
    await expect(ensureTopics(testKafka(), [spec(name, 1024 * 1024)])).resolves.toBeUndefined();
  });

  it('refuses to start on an existing topic that allows smaller records, naming the fix', async () => {
    const name = `test.bounds.${randomUUID().slice(0, 8)}`;
    await ensureTopics(testKafka(), [spec(name, 100_000)]);
    const err = await ensureTopics(testKafka(), [spec(name, 1024 * 1024)]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TopicProvisionError);
    expect((err as Error).message).toContain(`topic ${name} allows records of 100000 bytes`);
    expect((err as Error).message).toContain('--add-config max.message.bytes=1048576');
  });
});
