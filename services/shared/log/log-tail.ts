import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { logError } from '../log-error.js';
import type { Logger } from '../logger.js';
import { resolvesWithin } from './event-log.js';
import type { LogReader } from './event-log.js';
import { retryRetriable } from './retry.js';

export type TailRecord = {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer;
};

export type LogTailOptions = {
  kafka: Kafka;
  log: Logger;
  topic: string;
  /** The consumer group is `<prefix>-<random>`: every tail reads the whole topic on its own and commits nothing. */
  groupIdPrefix: string;
  /** Longest a fetch waits for new records (also how often an idle tail proves Kafka is reachable). */
  maxWaitTimeMs?: number;
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  /** Delay before a consumer that crashed for good is started again. */
  restartDelayMs?: number;
};

/**
 * Reads one topic from the beginning, in order per partition, and hands every record to `onRecord` synchronously.
 * It commits no offsets (its group is its own and is dropped when it leaves), so every start replays the whole
 * topic: what the approval service's fold and the gateway's waiter need to rebuild their state.
 * `caughtUp` resolves once every partition was read up to its end as of the start.
 */
export class LogTail implements LogReader {
  readonly #opts: LogTailOptions;
  readonly #log: Logger;
  #consumer: Consumer | undefined;
  #onRecord: ((r: TailRecord) => void) | undefined;
  #targets = new Map<number, bigint>();
  readonly #positions = new Map<number, bigint>();
  readonly #lag = new Map<number, number>();
  #caughtUp = false;
  #resolveCaughtUp!: () => void;
  readonly caughtUp: Promise<void> = new Promise<void>((resolve) => (this.#resolveCaughtUp = resolve));
  #lastFetchAt = 0;
  #stopped = false;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(opts: LogTailOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'log-tail', topic: opts.topic });
  }

  get isCaughtUp(): boolean {
    return this.#caughtUp;
  }

  /** Milliseconds since the last successful fetch (Infinity before the first). */
  get sinceLastFetchMs(): number {
    return this.#lastFetchAt === 0 ? Number.POSITIVE_INFINITY : Date.now() - this.#lastFetchAt;
  }

  /** Records behind the end of the log, summed over partitions, as of the last batch of each. */
  get lag(): number {
    let sum = 0;
    for (const n of this.#lag.values()) sum += Number.isFinite(n) && n > 0 ? n : 0;
    return sum;
  }

  /** Connects and starts reading; resolves once the consumer runs (not when it caught up: await `caughtUp`). */
  async start(onRecord: (r: TailRecord) => void): Promise<void> {
    this.#onRecord = onRecord;
    await this.#readTargets();
    await this.#run();
  }

  async #readTargets(): Promise<void> {
    const admin = this.#opts.kafka.admin();
    await admin.connect();
    try {
      const offsets = await retryRetriable(() => admin.fetchTopicOffsets(this.#opts.topic));
      this.#targets = new Map(
        offsets
          .filter((o) => BigInt(o.high) > BigInt(o.low))
          .map((o) => [o.partition, BigInt(o.high)] as const),
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    this.#checkCaughtUp();
  }

  async #run(): Promise<void> {
    const consumer = this.#opts.kafka.consumer({
      groupId: `${this.#opts.groupIdPrefix}-${randomUUID()}`,
      sessionTimeout: this.#opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: this.#opts.maxWaitTimeMs ?? 1_000,
      maxBytesPerPartition: this.#opts.maxBytesPerPartition ?? 4 * 1024 * 1024,
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.FETCH, () => {
      this.#lastFetchAt = Date.now();
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      // Also moves past batches that held only control records (which never reach the handler).
      const next = BigInt(e.payload.lastOffset) + 1n;
      if (next > (this.#positions.get(e.payload.partition) ?? 0n))
        this.#positions.set(e.payload.partition, next);
      this.#lag.set(e.payload.partition, Number(e.payload.offsetLag));
      this.#checkCaughtUp();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      logError(this.#log, e.payload.error, 'approval log consumer crashed', { restart: e.payload.restart });
      if (!e.payload.restart && !this.#stopped) this.#scheduleRestart(consumer);
    });
    await consumer.connect();
    await retryRetriable(() => consumer.subscribe({ topics: [this.#opts.topic], fromBeginning: true }));
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.#onBatch(payload),
    });
  }

  #scheduleRestart(old: Consumer): void {
    if (this.#restartTimer) return;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      void (async () => {
        await old.disconnect().catch(() => undefined);
        if (this.#stopped) return;
        // A new group reads from the beginning again; consumers of the tail de-duplicate on event ids.
        await this.#run().catch((err: unknown) => {
          logError(this.#log, err, 'approval log consumer restart failed');
          this.#scheduleRestart(old);
        });
      })();
    }, this.#opts.restartDelayMs ?? 5_000);
  }

  #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    for (const m of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      if (m.value !== null) {
        try {
          this.#onRecord?.({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value });
        } catch (err) {
          // The handler folds; it must not throw. A bug there must not stall the whole topic.
          logError(this.#log, err, 'record handler failed', { partition: batch.partition, offset: m.offset });
        }
      }
      this.#positions.set(batch.partition, BigInt(m.offset) + 1n);
    }
    this.#checkCaughtUp();
    return Promise.resolve();
  }

  #checkCaughtUp(): void {
    if (this.#caughtUp) return;
    for (const [partition, target] of this.#targets) {
      if ((this.#positions.get(partition) ?? 0n) < target) return;
    }
    this.#caughtUp = true;
    this.#log.info({ partitions: this.#targets.size }, 'caught up with the approval log');
    this.#resolveCaughtUp();
  }

  /** Resolves true once caught up, false after `timeoutMs`. */
  waitCaughtUp(timeoutMs: number): Promise<boolean> {
    return this.#caughtUp ? Promise.resolve(true) : resolvesWithin(this.caughtUp, timeoutMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    await this.#consumer?.disconnect().catch(() => undefined);
  }
}
