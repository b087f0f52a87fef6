import type { Consumer, EachBatchPayload, Kafka, TopicPartitionOffset } from 'kafkajs';
import { logError } from '../log-error.js';
import type { Logger } from '../logger.js';
import type { ConsumerListener, LogConsumer } from './event-log.js';
import { retryRetriable } from './retry.js';

export type ConsumedRecord = {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer;
  timestamp: string;
};

/**
 * Processes one fetched batch of one partition. Resolve only when the records are durably handled: offsets are
 * committed after the promise resolves, so a crash before that redelivers them (at-least-once).
 */
export type BatchHandler = (
  records: readonly ConsumedRecord[],
  ctx: { heartbeat(): Promise<void> },
) => Promise<void>;

export type EventConsumerOptions = {
  groupId: string;
  topics: readonly string[];
  /** Where a new group starts: at the beginning of the log (default) or only new records. */
  fromBeginning?: boolean;
  /** Partitions processed at once. */
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  /** Most bytes fetched per partition per batch (bounds memory per batch). */
  maxBytesPerPartition?: number;
  /** Longest a fetch waits for records; also how late a member notices a rebalance (kafkajs default 5 s). */
  maxWaitTimeMs?: number;
  /**
   * Bytes a fetch waits for (up to `maxWaitTimeMs`) before the broker answers (kafkajs default 1: every produce
   * to an idle partition answers a waiting fetch at once).
   */
  minBytes?: number;
};

/**
 * A consumer-group member with at-least-once processing: the handler runs per partition batch, offsets are
 * committed only after it succeeded; a failing handler leaves the offset where it was and the batch is retried.
 * `stop()` lets the in-flight batch finish and commit before leaving the group.
 */
export class EventConsumer implements LogConsumer {
  readonly #consumer: Consumer;
  readonly #opts: EventConsumerOptions;
  readonly #log: Logger;
  #running = false;
  readonly #queuedCommits = new Map<string, TopicPartitionOffset>();
  #commitFlush: Promise<void> | undefined;

  constructor(kafka: Kafka, log: Logger, opts: EventConsumerOptions) {
    this.#opts = opts;
    this.#log = log.child({ component: 'consumer', group: opts.groupId });
    this.#consumer = kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 4 * 1024 * 1024,
      ...(opts.maxWaitTimeMs === undefined ? {} : { maxWaitTimeInMs: opts.maxWaitTimeMs }),
      ...(opts.minBytes === undefined ? {} : { minBytes: opts.minBytes }),
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  }

  get kafkaConsumer(): Consumer {
    return this.#consumer;
  }

  listen(listener: ConsumerListener): void {
    const k = this.#consumer;
    const { joined, batchDone, crashed } = listener;
    if (joined) k.on(k.events.GROUP_JOIN, () => joined());
    if (batchDone)
      k.on(k.events.END_BATCH_PROCESS, ({ payload }) =>
        batchDone(payload.topic, payload.partition, Number(payload.offsetLag)),
      );
    if (crashed) k.on(k.events.CRASH, ({ payload }) => crashed(payload.error, payload.restart));
  }

  async start(handler: BatchHandler): Promise<void> {
    await this.#consumer.connect();
    await retryRetriable(() =>
      this.#consumer.subscribe({
        topics: [...this.#opts.topics],
        fromBeginning: this.#opts.fromBeginning ?? true,
      }),
    );
    this.#running = true;
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#opts.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.#onBatch(payload, handler),
    });
  }

  async #onBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0 || !payload.isRunning() || payload.isStale()) return;
    const records: ConsumedRecord[] = [];
    for (const m of batch.messages) {
      if (m.value === null) continue; // tombstones carry no event
      records.push({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        timestamp: m.timestamp,
      });
    }
    try {
      if (records.length > 0) await handler(records, { heartbeat: () => payload.heartbeat() });
    } catch (err) {
      logError(this.#log, err, 'batch handler failed; offsets not committed, batch will be redelivered', {
        topic: batch.topic,
        partition: batch.partition,
      });
      throw err; // kafkajs restarts the consumer from the last committed offset
    }
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    await this.#commit({
      topic: batch.topic,
      partition: batch.partition,
      offset: (BigInt(last) + 1n).toString(),
    });
    await payload.heartbeat();
  }

  /**
   * Commits a partition's offset together with the others handled in the same turn of the event loop (a handler
   * that batches writes across partitions resolves them at once): one OffsetCommit request, one append to the
   * group's offsets log, instead of one per partition. Resolves once that request succeeded.
   */
  #commit(offset: TopicPartitionOffset): Promise<void> {
    this.#queuedCommits.set(`${offset.topic}\u0000${offset.partition}`, offset);
    this.#commitFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const offsets = [...this.#queuedCommits.values()];
      this.#queuedCommits.clear();
      this.#commitFlush = undefined;
      return this.#consumer.commitOffsets(offsets);
    });
    return this.#commitFlush;
  }

  /** Finishes the in-flight batch (and its commit), leaves the group, disconnects. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#consumer.disconnect();
  }
}
