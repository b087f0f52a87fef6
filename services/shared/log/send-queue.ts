import type { LogRecord } from './log-record.js';
import type { PublishRefusedError } from './errors.js';

export type Waiter = { resolve: () => void; reject: (err: Error) => void };

/** A record waiting for Kafka, with the caller waiting on it (durable publish) if any. */
export type Pending = {
  record: LogRecord;
  bytes: number;
  /** Events the record carries (an event batch carries several); 1 when absent. */
  events?: number;
  waiter: Waiter | undefined;
  /** Delivered (or refused) by an earlier attempt of its batch: not sent again. */
  done?: boolean;
  refused?: PublishRefusedError;
};

/** The records of one key (one session, one approval), in publish order. */
type Lane = { items: (Pending | undefined)[]; head: number };

/**
 * The publisher's bounded buffer: one FIFO lane per record key, batches taken round-robin across lanes. Order
 * holds within a key (the only order Kafka keeps: one key, one partition), while a key with a large backlog (a
 * session streaming megabytes) cannot make another key's records wait behind all of it: each batch carries the
 * next record of every waiting key before the second of any. Pure data structure: no I/O, no timers.
 */
export class SendQueue {
  readonly #lanes = new Map<string, Lane>();
  /** Keys with records, in round-robin order; the next batch starts at `#next`. */
  #ring: string[] = [];
  #next = 0;
  #events = 0;
  #bytes = 0;
  #urgent = 0;

  /** Events buffered (sent or not, until settled): a batch record counts its events. */
  get events(): number {
    return this.#events;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Buffered records someone waits on (durable publishes): the sender should not linger. */
  get urgent(): number {
    return this.#urgent;
  }

  push(p: Pending): void {
    const key = laneKey(p.record);
    let lane = this.#lanes.get(key);
    if (!lane) {
      this.#lanes.set(key, (lane = { items: [], head: 0 }));
      this.#ring.push(key);
    }
    lane.items.push(p);
    this.#events += p.events ?? 1;
    this.#bytes += p.bytes;
    if (p.waiter) this.#urgent++;
  }

  /**
   * The next batch: each lane's oldest records, one lane after the other in turn, within the bounds (a batch always
   * holds at least one record). The records stay buffered until `settle(batch)`; take the next batch only after.
   */
  take(maxEvents: number, maxBytes: number): Pending[] {
    const batch: Pending[] = [];
    const ring = this.#ring;
    // One cursor per lane, in turn order; a lane drops out of the rotation once all its records are taken.
    let cursors = ring.map((_, i) => {
      const lane = this.#lanes.get(ring[(this.#next + i) % ring.length]!)!;
      return { lane, at: lane.head };
    });
    let bytes = 0;
    while (cursors.length > 0) {
      const left: typeof cursors = [];
      for (const c of cursors) {
        const p = c.lane.items[c.at]!;
        if (batch.length >= maxEvents || (batch.length > 0 && bytes + p.bytes > maxBytes)) return batch;
        batch.push(p);
        bytes += p.bytes;
        if (++c.at < c.lane.items.length) left.push(c);
      }
      cursors = left;
    }
    return batch;
  }

  /** Removes a batch that `take` returned, once it is delivered or refused for good (the caller answers waiters). */
  settle(batch: readonly Pending[]): void {
    for (const p of batch) {
      const key = laneKey(p.record);
      const lane = this.#lanes.get(key);
      if (!lane || lane.items[lane.head] !== p)
        throw new Error('SendQueue.settle: not the batch take() returned');
      lane.items[lane.head] = undefined;
      lane.head++;
      this.#events -= p.events ?? 1;
      this.#bytes -= p.bytes;
      if (p.waiter) this.#urgent--;
      if (lane.head === lane.items.length) this.#lanes.delete(key);
      else if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
        lane.items.splice(0, lane.head);
        lane.head = 0;
      }
    }
    // The next batch starts one lane further, so no lane is always first (a retried batch starts where it did).
    const first = this.#ring[this.#next];
    this.#ring = this.#ring.filter((key) => this.#lanes.has(key));
    const at = first === undefined ? -1 : this.#ring.indexOf(first);
    this.#next = this.#ring.length === 0 ? 0 : (at + 1) % this.#ring.length;
  }

  /** Every buffered record (for closing: their waiters are told). */
  *all(): Iterable<Pending> {
    for (const lane of this.#lanes.values())
      for (let i = lane.head; i < lane.items.length; i++) yield lane.items[i]!;
  }
}

function laneKey(record: LogRecord): string {
  return `${record.topic}\0${record.key}`;
}
