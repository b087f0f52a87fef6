import { Partitioners } from 'kafkajs';
import type { Admin, Kafka, PartitionMetadata } from 'kafkajs';

/** Keys whose partition is remembered per topic (then the cache starts over). */
const MAX_CACHED_KEYS = 10_000;

/**
 * The partition Kafka's default (murmur2) partitioner gives a key — the same one Java clients pick — from topic
 * metadata fetched once per topic. Synchronous once a topic is known (the hot path).
 */
export class PartitionLookup {
  readonly #kafka: Kafka;
  readonly #partitions = new Map<string, PartitionMetadata[]>();
  /** Partitions of recent keys by topic: murmur2 runs once per key, not once per record. */
  readonly #byKey = new Map<string, Map<string, number>>();
  readonly #partitioner = Partitioners.DefaultPartitioner();
  #admin: Admin | undefined;

  constructor(kafka: Kafka) {
    this.#kafka = kafka;
  }

  /** The partition of `key`, or undefined until the topic's metadata was loaded (`load`). */
  known(topic: string, key: string): number | undefined {
    const cached = this.#byKey.get(topic)?.get(key);
    if (cached !== undefined) return cached;
    const partitionMetadata = this.#partitions.get(topic);
    if (!partitionMetadata) return undefined;
    const partition = this.#partitioner({ topic, partitionMetadata, message: { key, value: null } });
    let keys = this.#byKey.get(topic);
    if (!keys) this.#byKey.set(topic, (keys = new Map<string, number>()));
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    keys.set(key, partition);
    return partition;
  }

  async partition(topic: string, key: string): Promise<number> {
    const known = this.known(topic, key);
    if (known !== undefined) return known;
    this.#admin ??= this.#kafka.admin();
    await this.#admin.connect();
    const meta = await this.#admin.fetchTopicMetadata({ topics: [topic] });
    const partitionMetadata = meta.topics[0]?.partitions ?? [];
    if (partitionMetadata.length === 0) throw new Error(`topic ${topic} has no partitions`);
    this.#partitions.set(topic, partitionMetadata);
    return this.known(topic, key)!;
  }

  async close(): Promise<void> {
    await this.#admin?.disconnect().catch(() => undefined);
  }
}
