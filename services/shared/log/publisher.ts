import { setTimeout as sleep } from 'node:timers/promises';
import { CompressionTypes } from 'kafkajs';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from '../logger.js';
import { recordBytes, recordEvents } from './log-record.js';
import {
  PublishBufferFullError,
  PublisherClosedError,
  PublishRefusedError,
  PublishTimeoutError,
  PublishUnavailableError,
} from './errors.js';
import type { LogPublisher } from './event-log.js';
import type { LogRecord, RecordSource } from './log-record.js';
import { PartitionLookup } from './partition-lookup.js';
import { lz4Pays } from './lz4-codec.js';
import { isolateRefused, reportRefusals } from './refusals.js';
import { SendQueue } from './send-queue.js';
import type { Pending, Waiter } from './send-queue.js';

import { COMPRESS_MIN_BYTES, DEFAULT_PUBLISHER_OPTIONS } from './publisher-contract.js';
import type { PublisherOptions, PublisherStats } from './publisher-contract.js';

export type { LogRecord, RecordOwner, RecordSource } from './log-record.js';
export { recordBytes, recordSeqs } from './log-record.js';
export type { EventPublisher, PublisherOptions, PublisherStats } from './publisher-contract.js';
export { DEFAULT_PUBLISHER_OPTIONS } from './publisher-contract.js';

const RECREATE_ON = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
  'KafkaJSNonRetriableError',
]);

/**
 * Batches events across sessions into produce requests with one request in flight at a time (so per-key order
 * holds across retries), using kafkajs' idempotent producer with acks=all. Batches take records round-robin across
 * keys (see SendQueue), so one session's backlog does not delay another session's durable record. A failed batch
 * stays buffered and is retried with backoff; nothing is dropped. New work is refused (typed errors) when the bounded buffer
 * is full or Kafka has been unreachable longer than `failClosedAfterMs`.
 */
export class KafkaPublisher implements LogPublisher {
  readonly #kafka: Kafka;
  readonly #log: Logger;
  readonly #opts: PublisherOptions;
  #producer: Producer | undefined;
  #connected = false;
  readonly #queue = new SendQueue();
  /** Sources whose records are taken before the next produce request. */
  readonly #deferred = new Set<RecordSource>();
  #closed = false;
  #unavailableSince: number | undefined;
  #lastError: Error | undefined;
  #wake: (() => void) | undefined;
  #pump: Promise<void> | undefined;
  #sentEvents = 0;
  #sentBatches = 0;
  #failedSends = 0;
  #refusedRecords = 0;
  readonly #partitionLookup: PartitionLookup;
  #lastBatchLatencyMs = 0;

  constructor(kafka: Kafka, log: Logger, opts: Partial<PublisherOptions> = {}) {
    this.#kafka = kafka;
    this.#log = log.child({ component: 'publisher' });
    this.#opts = { ...DEFAULT_PUBLISHER_OPTIONS, ...opts };
    this.#partitionLookup = new PartitionLookup(kafka);
  }

  /** Starts the send loop. Connecting happens in the loop, so a broker outage at start is handled like any other. */
  start(): void {
    this.#pump ??= this.#run();
  }

  get connected(): boolean {
    return this.#connected;
  }

  assertAccepting(bytes = 0, events = 1): void {
    if (this.#closed) throw new PublisherClosedError();
    if (this.#unavailableSince !== undefined) {
      const down = Date.now() - this.#unavailableSince;
      if (down > this.#opts.failClosedAfterMs)
        throw new PublishUnavailableError(down, { cause: this.#lastError });
    }
    if (this.#queue.events + events > this.#opts.maxBufferedEvents) {
      throw new PublishBufferFullError(`${this.#opts.maxBufferedEvents} events`);
    }
    if (this.#queue.bytes + bytes > this.#opts.maxBufferedBytes) {
      throw new PublishBufferFullError(`${this.#opts.maxBufferedBytes} bytes`);
    }
  }

  publishBatched(record: LogRecord): void {
    this.#enqueue(record, undefined);
  }

  defer(source: RecordSource): void {
    const first = this.#deferred.size === 0;
    this.#deferred.add(source);
    // An idle send loop starts a linger window (a busy one takes the source with its next batch).
    if (first && this.#queue.events === 0) this.#wake?.();
  }

  /** Moves every deferred source's record into the queue (each was admitted event by event by its source). */
  #takeDeferred(): void {
    for (const source of this.#deferred) {
      const record = source.takeRecord();
      if (record === undefined) continue;
      if (record.value.length > this.#opts.maxEventBytes) {
        this.#refusedRecords++;
        record.owner?.refused(
          new PublishRefusedError(
            'EVENT_TOO_LARGE',
            `audit record of ${record.value.length} bytes exceeds maxEventBytes (${this.#opts.maxEventBytes})`,
          ),
          [record],
        );
        continue;
      }
      this.#queue.push({
        record,
        bytes: recordBytes(record),
        events: recordEvents(record),
        waiter: undefined,
      });
    }
    this.#deferred.clear();
  }

  publishDurable(record: LogRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The record stays queued and is still written; only the caller stops waiting.
        if (waiter.settled) return;
        waiter.settled = true;
        reject(new PublishTimeoutError(this.#opts.durableTimeoutMs));
      }, this.#opts.durableTimeoutMs);
      const waiter = {
        settled: false,
        resolve: () => {
          clearTimeout(timer);
          if (waiter.settled) return;
          waiter.settled = true;
          resolve();
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          if (waiter.settled) return;
          waiter.settled = true;
          reject(err);
        },
      };
      try {
        this.#enqueue(record, waiter);
      } catch (err) {
        waiter.reject(err as Error);
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
      refusedRecords: this.#refusedRecords,
      unavailableForMs: this.#unavailableSince === undefined ? 0 : Date.now() - this.#unavailableSince,
      lastBatchLatencyMs: this.#lastBatchLatencyMs,
    };
  }

  /** Stops accepting, flushes what is buffered within `timeoutMs`, disconnects. Reports what could not be sent. */
  async close(timeoutMs = 10_000): Promise<{ unflushed: number }> {
    this.#closed = true;
    this.#wake?.();
    const deadline = sleep(timeoutMs, 'timeout' as const);
    const done = this.#pump ?? Promise.resolve();
    const outcome = await Promise.race([done.then(() => 'done' as const), deadline]);
    this.#takeDeferred();
    const unflushed = this.#queue.events;
    if (outcome === 'timeout' || unflushed > 0) {
      this.#log.error({ unflushed }, 'publisher closed with events that Kafka did not acknowledge');
      for (const p of this.#queue.all()) p.waiter?.reject(new PublisherClosedError());
    }
    await this.#producer?.disconnect().catch(() => undefined);
    await this.#partitionLookup.close();
    this.#connected = false;
    return { unflushed };
  }

  #enqueue(record: LogRecord, waiter: Waiter | undefined): void {
    const bytes = recordBytes(record);
    if (record.value.length > this.#opts.maxEventBytes) {
      throw new PublishRefusedError(
        'EVENT_TOO_LARGE',
        `audit event of ${record.value.length} bytes exceeds maxEventBytes (${this.#opts.maxEventBytes})`,
      );
    }
    const events = recordEvents(record);
    this.assertAccepting(bytes, events);
    const wasEmpty = this.#queue.events === 0;
    this.#queue.push({ record, bytes, events, waiter });
    if (waiter || this.#batchFull()) this.#wake?.();
    else if (this.#wake && wasEmpty) this.#wakeAfterLinger();
  }

  /**
   * A produce request's worth is buffered: nothing to linger for (like Kafka's `batch.size`). Without the byte test a
   * bulk SSH output waited out every linger window with full records in hand (25 ms per round: -40 % MB/s).
   */
  #batchFull(): boolean {
    return this.#queue.events >= this.#opts.maxBatchEvents || this.#queue.bytes >= this.#opts.maxBatchBytes;
  }

  #lingerTimer: NodeJS.Timeout | undefined;
  #wakeAfterLinger(): void {
    if (this.#lingerTimer) return;
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = undefined;
      this.#wake?.();
    }, this.#opts.lingerMs);
  }

  async #run(): Promise<void> {
    let backoff = 100;
    try {
      await this.#ensureProducer(); // connect early, so readiness reflects Kafka before the first event
    } catch (err) {
      this.#lastError = err as Error;
      this.#log.warn(
        { err: { message: (err as Error).message } },
        'Kafka not reachable yet; will retry on first send',
      );
      await this.#resetProducer();
    }
    for (;;) {
      if (this.#queue.events === 0 && this.#deferred.size === 0) {
        if (this.#closed) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      if (!this.#closed && this.#queue.urgent === 0 && !this.#batchFull()) {
        // Give batched events a moment to gather; a durable publish or a full batch cuts it short.
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#wakeAfterLinger();
        });
        this.#wake = undefined;
      }
      this.#takeDeferred();
      if (this.#queue.events === 0) continue;
      const batch = this.#queue.take(this.#opts.maxBatchEvents, this.#opts.maxBatchBytes);
      try {
        await this.#send(batch);
        this.#settle(batch);
        backoff = 100;
      } catch (err) {
        this.#failedSends++;
        this.#lastError = err as Error;
        this.#unavailableSince ??= Date.now();
        this.#log.warn(
          { err: { name: (err as Error).name, message: (err as Error).message }, batch: batch.length },
          'produce failed; batch kept and retried',
        );
        if (RECREATE_ON.has((err as { type?: string }).type ?? '') || !this.#connected)
          await this.#resetProducer();
        if (this.#closed && Date.now() - this.#unavailableSince > this.#opts.failClosedAfterMs) return;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  /**
   * One produce call per partition, all in parallel. (kafkajs retries a multi-partition call only on brokers
   * that have not answered yet: a partition whose leader moved to a broker that already answered would be
   * skipped and its messages silently lost. A single-partition call cannot hit that.)
   *
   * A partition's records are one record batch, appended atomically. When the broker refuses a batch for good
   * (too large, not authorized, corrupt), its records are re-sent in contiguous halves, one after the other, until
   * the refused records stand alone: they are refused (their owners — sessions — fail), everything else is
   * delivered, in order. Delivered records are marked, so an outage during this retries only the rest. The
   * idempotent producer stays valid: kafkajs rolls its sequence number back for a refused batch, and the broker
   * appended nothing from it.
   */
  async #send(batch: Pending[]): Promise<void> {
    const producer = await this.#ensureProducer();
    const byPartition = new Map<string, { topic: string; partition: number; items: Pending[] }>();
    for (const p of batch) {
      if (p.done) continue;
      const by = (this.#opts.partitionBy === 'node' && p.record.partitionKey) || p.record.key;
      const partition =
        this.#partitionLookup.known(p.record.topic, by) ??
        (await this.#partitionLookup.partition(p.record.topic, by));
      const id = `${p.record.topic}\0${partition}`;
      let group = byPartition.get(id);
      if (!group) byPartition.set(id, (group = { topic: p.record.topic, partition, items: [] }));
      group.items.push(p);
    }
    const produce = async (topic: string, partition: number, items: readonly Pending[]): Promise<void> => {
      let bytes = 0;
      const messages: Message[] = items.map((p) => {
        bytes += p.record.value.length;
        return { key: p.record.key, value: p.record.value, partition };
      });
      const compression =
        this.#opts.compression === 'lz4' &&
        bytes >= COMPRESS_MIN_BYTES &&
        lz4Pays(items.map((p) => p.record.value))
          ? CompressionTypes.LZ4
          : CompressionTypes.None;
      await producer.send({ topic, messages, acks: -1, compression });
      for (const p of items) p.done = true;
    };
    const started = performance.now();
    const groups = [...byPartition.values()];
    const outcomes = await Promise.allSettled(groups.map((g) => produce(g.topic, g.partition, g.items)));
    this.#lastBatchLatencyMs = performance.now() - started;
    let outage: Error | undefined;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'fulfilled') continue;
      const g = groups[i]!;
      try {
        const refused = await isolateRefused(g.items, outcome.reason, (items) =>
          produce(g.topic, g.partition, items),
        );
        this.#refusedRecords += reportRefusals(refused, this.#log);
      } catch (err) {
        outage ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (outage !== undefined) throw outage;
  }

  #settle(batch: readonly Pending[]): void {
    this.#unavailableSince = undefined;
    this.#lastError = undefined;
    this.#sentEvents += batch.length;
    this.#sentBatches++;
    this.#queue.settle(batch);
    for (const p of batch) {
      if (p.refused) p.waiter?.reject(p.refused);
      else p.waiter?.resolve();
    }
  }

  async #ensureProducer(): Promise<Producer> {
    if (this.#producer && this.#connected) return this.#producer;
    this.#producer ??= this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 4, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    await this.#producer.connect();
    this.#connected = true;
    return this.#producer;
  }

  /** A fresh producer id after fatal idempotence errors; a re-sent batch may duplicate, consumers de-duplicate. */
  async #resetProducer(): Promise<void> {
    const old = this.#producer;
    this.#producer = undefined;
    this.#connected = false;
    await old?.disconnect().catch(() => undefined);
  }
}
