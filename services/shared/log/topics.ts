import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { TopicProvisionError } from './errors.js';

export type TopicSpec = {
  name: string;
  partitions: number;
  replicationFactor: number;
  retentionMs?: number;
  /** Log compaction instead of deletion (e.g. for policy bundle revisions). */
  compact?: boolean;
  minInsyncReplicas?: number;
};

/**
 * Creates the topics that are missing (idempotent). Existing topics are left alone; a topic with fewer partitions
 * than asked for is reported, never silently repartitioned (that would break per-session ordering).
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
