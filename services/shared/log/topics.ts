import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { Admin, Kafka } from 'kafkajs';
import { TopicProvisionError } from './errors.js';

// kafkajs is CommonJS and its ESM facade names only some exports (not ConfigResourceTypes): take it from the module.
const { ConfigResourceTypes } = kafkajs;

export type TopicSpec = {
  name: string;
  partitions: number;
  replicationFactor: number;
  retentionMs?: number;
  /** Log compaction instead of deletion (e.g. for policy bundle revisions). */
  compact?: boolean;
  minInsyncReplicas?: number;
  /**
   * `max.message.bytes`: set on creation; an existing topic that allows less is an error (start-up refuses with
   * the command to fix it; Kafka's AlterConfigs would reset the topic's other settings, so it is not changed here).
   */
  maxMessageBytes?: number;
};

/**
 * Creates the topics that are missing (idempotent). Existing topics are left alone; a topic with fewer partitions
 * than asked for, or a smaller `max.message.bytes`, is reported, never silently changed (repartitioning would break
 * per-session ordering).
 */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor,
          configEntries: [
            ...(s.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(s.retentionMs) }]),
            ...(s.compact ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
            ...(s.minInsyncReplicas === undefined
              ? []
              : [{ name: 'min.insync.replicas', value: String(s.minInsyncReplicas) }]),
            ...(s.maxMessageBytes === undefined
              ? []
              : [{ name: 'max.message.bytes', value: String(s.maxMessageBytes) }]),
          ],
        })),
      });
    }
    if (missing.length > 0)
      await waitForLeaders(
        admin,
        missing.map((s) => s.name),
      );
    const present = specs.filter((s) => existing.has(s.name));
    if (present.length > 0) {
      const meta = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
      for (const t of meta.topics) {
        const spec = present.find((s) => s.name === t.name);
        if (spec && t.partitions.length < spec.partitions) {
          throw new TopicProvisionError(
            `topic ${t.name} has ${t.partitions.length} partitions, config asks for ${spec.partitions}; ` +
              'repartition it deliberately (it changes which partition a session lands on)',
          );
        }
      }
      await checkMaxMessageBytes(admin, present);
    }
  } catch (cause) {
    if (cause instanceof TopicProvisionError) throw cause;
    throw new TopicProvisionError(`could not provision topics: ${(cause as Error).message}`, { cause });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Polls metadata until every partition of the new topics has a leader. (kafkajs' own `waitForLeaders` asks one
 * broker once and fails with UNKNOWN_TOPIC_OR_PARTITION while metadata is still propagating.)
 */
async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let agreeing = 0;
  while (Date.now() < deadline) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [...topics] });
      const ready = meta.topics.every(
        (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
      );
      // Several answers in a row (from whichever broker kafkajs asks), so every broker has the new metadata.
      agreeing = ready ? agreeing + 1 : 0;
      if (agreeing >= 3) return;
    } catch (err) {
      last = err;
      agreeing = 0;
    }
    await sleep(200);
  }
  throw new TopicProvisionError(`topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms`, {
    cause: last,
  });
}

/** Refuses existing topics whose `max.message.bytes` is below what the spec needs. */
async function checkMaxMessageBytes(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const wanted = specs.filter((s) => s.maxMessageBytes !== undefined);
  if (wanted.length === 0) return;
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: wanted.map((s) => ({
      type: ConfigResourceTypes.TOPIC,
      name: s.name,
      configNames: ['max.message.bytes'],
    })),
  });
  for (const r of described.resources) {
    const spec = wanted.find((s) => s.name === r.resourceName);
    const entry = r.configEntries.find((e) => e.configName === 'max.message.bytes');
    const actual = Number(entry?.configValue ?? NaN);
    if (!spec?.maxMessageBytes || !(actual < spec.maxMessageBytes)) continue;
    throw new TopicProvisionError(
      `topic ${r.resourceName} allows records of ${actual} bytes (max.message.bytes), the configuration needs ` +
        `${spec.maxMessageBytes} (kafka.topics.maxMessageBytes): raise it with kafka-configs.sh --alter ` +
        `--entity-type topics --entity-name ${r.resourceName} --add-config max.message.bytes=${spec.maxMessageBytes}`,
    );
  }
}
