import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logger.js';
import {
  PublishBufferFullError,
  PublisherClosedError,
  PublishRefusedError,
  PublishTimeoutError,
  PublishUnavailableError,
} from '../errors.js';
import type { LogPublisher } from '../event-log.js';
import { recordBytes } from '../log-record.js';
import type { LogRecord } from '../log-record.js';
import { DEFAULT_PUBLISHER_OPTIONS } from '../publisher.js';
import type { PublisherOptions, PublisherStats } from '../publisher.js';
import { SendQueue } from '../send-queue.js';
import type { Pending, Waiter } from '../send-queue.js';
import type { EmbeddedEventLog } from './embedded-log.js';

/**
 * The publisher of the embedded log, with the Kafka publisher's contract and bounds: records gather for
 * `lingerMs` (a durable publish cuts that short), each batch is one write and one fsync per topic, a durable
 * publish resolves once its record is on disk. A failed write keeps the batch and retries it with backoff; past
 * `failClosedAfterMs` new work is refused, as when Kafka is gone.
 */
export class EmbeddedPublisher implements LogPublisher {
  readonly #store: EmbeddedEventLog;
  readonly #log: Logger;
  readonly #opts: PublisherOptions;
  readonly #queue = new SendQueue();
  #closed = false;
  #pump: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #unavailableSince: number | undefined;
  #lastError: Error | undefined;
  #sentEvents = 0;
  #sentBatches = 0;
  #failedSends = 0;
  #lastBatchLatencyMs = 0;

  constructor(store: EmbeddedEventLog, log: Logger, opts: Partial<PublisherOptions> = {}) {
    this.#store = store;
    this.#log = log.child({ component: 'publisher', log: 'embedded' });
    this.#opts = { ...DEFAULT_PUBLISHER_OPTIONS, ...opts };
  }

  get connected(): boolean {
    return !this.#closed && this.#unavailableSince === undefined;
  }

  start(): void {
    this.#pump ??= this.#run();
  }

  assertAccepting(bytes = 0): void {
    if (this.#closed) throw new PublisherClosedError();
    if (this.#unavailableSince !== undefined) {
      const down = Date.now() - this.#unavailableSince;
      if (down > this.#opts.failClosedAfterMs)
        throw new PublishUnavailableError(down, { cause: this.#lastError });
    }
    if (this.#queue.events + 1 > this.#opts.maxBufferedEvents)
      throw new PublishBufferFullError(`${this.#opts.maxBufferedEvents} events`);
    if (this.#queue.bytes + bytes > this.#opts.maxBufferedBytes)
      throw new PublishBufferFullError(`${this.#opts.maxBufferedBytes} bytes`);
  }

  publishBatched(record: LogRecord): void {
    this.#enqueue(record, undefined);
  }

  publishDurable(record: LogRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => finish(new PublishTimeoutError(this.#opts.durableTimeoutMs)),
        this.#opts.durableTimeoutMs,
      );
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      try {
        this.#enqueue(record, { resolve: () => finish(), reject: finish });
      } catch (err) {
        finish(err as Error);
      }
    });
  }

  stats(): PublisherStats {
    return {
      bufferedEvents: this.#queue.events,
      bufferedBytes: this.#queue.bytes,
      sentEvents: this.#sentEvents,
      sentBatches: this.#sentBatches,
      failedSends: this.#failedSends,
      refusedRecords: 0,
      unavailableForMs: this.#unavailableSince === undefined ? 0 : Date.now() - this.#unavailableSince,
      lastBatchLatencyMs: this.#lastBatchLatencyMs,
    };
  }

  async close(timeoutMs = 10_000): Promise<{ unflushed: number }> {
    this.#closed = true;
    this.#wake?.();
    const outcome = await Promise.race([
      (this.#pump ?? Promise.resolve()).then(() => 'done' as const),
      sleep(timeoutMs, 'timeout' as const, { ref: false }), // must not hold the process open after the flush
    ]);
    const unflushed = this.#queue.events;
    if (outcome === 'timeout' || unflushed > 0) {
      this.#log.error({ unflushed }, 'publisher closed with events not written to the embedded log');
      for (const p of this.#queue.all()) p.waiter?.reject(new PublisherClosedError());
    }
    return { unflushed };
  }

  #enqueue(record: LogRecord, waiter: Waiter | undefined): void {
    if (record.value.length > this.#opts.maxEventBytes) {
      throw new PublishRefusedError(
        'EVENT_TOO_LARGE',
        `audit event of ${record.value.length} bytes exceeds maxEventBytes (${this.#opts.maxEventBytes})`,
      );
    }
    const bytes = recordBytes(record);
    this.assertAccepting(bytes);
    this.#queue.push({ record, bytes, waiter });
    // Wake the sender: at once for a durable publish or a full batch; for the first batched record, so that it
    // starts lingering (it sleeps while the queue is empty).
    if (waiter || this.#queue.events === 1 || this.#queue.events >= this.#opts.maxBatchEvents) this.#wake?.();
  }

  async #run(): Promise<void> {
    let backoff = 50;
    for (;;) {
      if (this.#queue.events === 0) {
        if (this.#closed) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      if (!this.#closed && this.#queue.urgent === 0 && this.#queue.events < this.#opts.maxBatchEvents) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, this.#opts.lingerMs);
        });
        this.#wake = undefined;
      }
      const batch = this.#queue.take(this.#opts.maxBatchEvents, this.#opts.maxBatchBytes);
      try {
        await this.#write(batch);
        this.#unavailableSince = undefined;
        this.#lastError = undefined;
        this.#sentEvents += batch.length;
        this.#sentBatches++;
        this.#queue.settle(batch);
        for (const p of batch) p.waiter?.resolve();
        backoff = 50;
      } catch (err) {
        this.#failedSends++;
        this.#lastError = err as Error;
        this.#unavailableSince ??= Date.now();
        this.#log.warn(
          { err: { message: (err as Error).message }, batch: batch.length },
          'append failed; retrying',
        );
        if (this.#closed && Date.now() - this.#unavailableSince > this.#opts.failClosedAfterMs) return;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  /** One append (one fsync) per topic, skipping topics an earlier attempt of this batch already wrote. */
  async #write(batch: readonly Pending[]): Promise<void> {
    const byTopic = new Map<string, Pending[]>();
    for (const p of batch) {
      if (p.done) continue;
      let list = byTopic.get(p.record.topic);
      if (!list) byTopic.set(p.record.topic, (list = []));
      list.push(p);
    }
    const started = performance.now();
    for (const [topic, items] of byTopic) {
      await this.#store.append(
        topic,
        items.map((p) => ({ key: Buffer.from(p.record.key, 'utf8'), value: p.record.value })),
      );
      for (const p of items) p.done = true;
    }
    this.#lastBatchLatencyMs = performance.now() - started;
  }
}
