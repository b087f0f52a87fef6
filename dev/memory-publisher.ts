import { decodeEvent } from '../services/shared/events/codec.js';
import type { Event } from '../services/shared/events/codec.js';
import type { EventPublisher, LogRecord, PublisherStats } from '../services/shared/log/publisher.js';

/** One publish a `MemoryPublisher` saw: how, and what. */
export type PublishedRecord = { readonly mode: 'batched' | 'durable'; readonly record: LogRecord };

/**
 * An in-memory `EventPublisher` for unit tests: keeps every record in order with how it was published, and refuses
 * everything (throws / rejects) while `refuse` is set, as the real one does when Kafka is gone.
 */
export class MemoryPublisher implements EventPublisher {
  readonly calls: PublishedRecord[] = [];
  refuse: Error | null = null;

  publishBatched(record: LogRecord): void {
    if (this.refuse) throw this.refuse;
    this.calls.push({ mode: 'batched', record });
  }

  publishDurable(record: LogRecord): Promise<void> {
    if (this.refuse) return Promise.reject(this.refuse);
    this.calls.push({ mode: 'durable', record });
    return Promise.resolve();
  }

  assertAccepting(): void {
    if (this.refuse) throw this.refuse;
  }

  stats(): PublisherStats {
    return {
      bufferedEvents: 0,
      bufferedBytes: 0,
      sentEvents: this.calls.length,
      sentBatches: 0,
      failedSends: 0,
      refusedRecords: 0,
      unavailableForMs: 0,
      lastBatchLatencyMs: 0,
    };
  }

  close(): Promise<{ unflushed: number }> {
    return Promise.resolve({ unflushed: 0 });
  }

  /** Every record published, in order. */
  get records(): LogRecord[] {
    return this.calls.map((c) => c.record);
  }

  /** The published envelopes, decoded. */
  events(): Event[] {
    return this.calls.map((c) => decodeEvent(c.record.value));
  }

  /** The `response` bodies published so far, in order. */
  responses(): Extract<Event['body'], { case: 'response' }>['value'][] {
    const out = [];
    for (const e of this.events()) if (e.body.case === 'response') out.push(e.body.value);
    return out;
  }

  /** The decoded event bodies, in publish order, with how each was published. */
  bodies(): { mode: 'batched' | 'durable'; body: Event['body'] }[] {
    return this.calls.map((c) => ({ mode: c.mode, body: decodeEvent(c.record.value).body }));
  }
}
