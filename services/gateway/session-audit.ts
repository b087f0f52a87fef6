import { create } from '@bufbuild/protobuf';
import { AuditFailureSchema } from '../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from '../shared/events/codec.js';
import { encodeFrame, encodeFrameTo } from '../shared/events/encode-frame.js';
import { BATCH_OVERHEAD, BatchBuffer, encodeShared, frameOverhead } from '../shared/events/event-batch.js';
import type { Event } from '../shared/events/codec.js';
import { EventTooLargeError } from '../shared/events/errors.js';
import type { EventBody, SessionEvents } from '../shared/events/session-events.js';
import { splitEvent } from '../shared/events/split-event.js';
import { PublishRefusedError } from '../shared/log/errors.js';
import { recordBytes, recordSeqs } from '../shared/log/log-record.js';
import type { EventPublisher, LogRecord, RecordOwner, RecordSource } from '../shared/log/publisher.js';

/** What the client of a session whose record the broker refused is told (no payload, no broker address). */
export function auditRefusedMessage(reason: string): string {
  return `gatehouse: the audit log refused a record of this session (${reason}); session closed`;
}

/** Bodies still published after the session failed: the failure marker and the close. */
const AFTER_FAILURE = new Set<EventBody['case']>(['auditFailure', 'sessionClosed']);

/**
 * The audit side of one gateway session: turns event bodies into the session's ordered envelopes and hands them
 * to the publisher, batched (read traffic) or durable (state-changing requests: resolves once Kafka acknowledged).
 *
 * Every record is at most `maxEventBytes`: a larger event becomes a head plus `Continuation` events with the next
 * seqs (see splitEvent).
 *
 * With a publisher that can defer (Kafka), the session's events travel as `EventBatch` records: batched events
 * gather as frames (encoded without the session's shared fields) until the publisher builds its next produce
 * request (after its linger) or the batch reaches `maxEventBytes`; a durable event closes the batch and is
 * acknowledged with everything before it. Each event is checked against the publisher's bounds when it is
 * published, as before (fail closed). Other publishers get one record per event.
 *
 * When the broker refuses one of the session's records for good (the publisher tells its owner), the session
 * fails: an `audit_failure` marker goes onto its stream, the `onFailure` handler closes the client with an error,
 * and later publishes throw the refusal. Publishing errors propagate: the caller refuses the work (fail closed).
 */
export class SessionAudit implements RecordOwner, RecordSource {
  readonly events: SessionEvents;
  readonly #publisher: EventPublisher;
  readonly #topic: string;
  readonly #maxEventBytes: number;
  #failure: PublishRefusedError | undefined;
  #onFailure: ((err: PublishRefusedError) => void) | undefined;
  /** Frames gathered for the next batch record (written once, see BatchBuffer), and the shared fields they go with. */
  readonly #batch = new BatchBuffer();
  #pendingShared: Uint8Array | undefined;
  #shared: { version: number; bytes: Uint8Array } | undefined;

  constructor(events: SessionEvents, publisher: EventPublisher, topic: string, maxEventBytes: number) {
    this.events = events;
    this.#publisher = publisher;
    this.#topic = topic;
    this.#maxEventBytes = maxEventBytes;
  }

  get sessionId(): string {
    return this.events.sessionId;
  }

  /** Why the session's audit failed, if it did. */
  get failure(): PublishRefusedError | undefined {
    return this.#failure;
  }

  /** Called once when the broker refuses one of this session's records (the session must close). */
  onFailure(handler: (err: PublishRefusedError) => void): void {
    this.#onFailure = handler;
    const failure = this.#failure;
    if (failure) queueMicrotask(() => handler(failure));
  }

  /** Throws the publisher's refusal, if any, before work starts (so no sequence number is spent on it). */
  assertAccepting(): void {
    if (this.#failure) throw this.#failure;
    this.#publisher.assertAccepting();
  }

  batched(body: EventBody, policyRevision = ''): void {
    if (!this.#publisher.defer) {
      for (const record of this.#records(body, policyRevision)) this.#publisher.publishBatched(record);
      return;
    }
    const full = this.#gather(body, policyRevision);
    for (const record of full) this.#publisher.publishBatched(record);
    if (this.#batch.count > 0) this.#publisher.defer(this);
  }

  async durable(body: EventBody, policyRevision = ''): Promise<void> {
    let records: LogRecord[];
    if (this.#publisher.defer) {
      records = this.#gather(body, policyRevision);
      const last = this.#takeRecord();
      if (last) records.push(last);
    } else {
      records = this.#records(body, policyRevision);
    }
    if (records.length === 1) return this.#publisher.publishDurable(records[0]!);
    await Promise.all(records.map((r) => this.#publisher.publishDurable(r)));
  }

  /** RecordSource: the gathered frames as one batch record (the publisher calls this before each produce request). */
  takeRecord(): LogRecord | undefined {
    this.#batch.discard();
    return this.#takeRecord();
  }

  /** The gathered frames as one batch record; a frame still open (being gathered) starts the next. */
  #takeRecord(): LogRecord | undefined {
    const batch = this.#batch;
    const seq = batch.firstSeq;
    const lastSeq = batch.lastSeq;
    if (seq === undefined || this.#pendingShared === undefined) return undefined;
    const value = batch.take(this.#pendingShared);
    if (value === undefined) return undefined;
    this.#pendingShared = undefined;
    return {
      topic: this.#topic,
      key: this.sessionId,
      partitionKey: this.events.nodeId,
      value,
      owner: this,
      seq,
      lastSeq,
    };
  }

  /** RecordOwner: the broker refused some of this session's records. */
  refused(err: PublishRefusedError, records: readonly LogRecord[]): void {
    const first = this.#failure === undefined;
    this.#failure ??= err;
    try {
      this.batched({
        case: 'auditFailure',
        value: create(AuditFailureSchema, {
          error: err.reason,
          message: err.message,
          refusedSeqs: records.flatMap(recordSeqs),
          refusedBytes: BigInt(records.reduce((n, r) => n + r.value.length, 0)),
        }),
      });
    } catch {
      // the publisher is refusing everything: its own error already fails the session
    }
    if (first) this.#onFailure?.(err);
  }

  #records(body: EventBody, policyRevision: string): LogRecord[] {
    if (this.#failure && !AFTER_FAILURE.has(body.case)) throw this.#failure;
    const event = this.events.next(body, policyRevision);
    const encoded = encodeEvent(event);
    if (encoded.length <= this.#maxEventBytes) return [this.#record(event, encoded)];
    let split: ReturnType<typeof splitEvent>;
    try {
      split = splitEvent(event, this.#maxEventBytes, this.events.continuationOverhead);
    } catch (cause) {
      if (!(cause instanceof EventTooLargeError)) throw cause;
      // Nothing of this event can be recorded: the session fails as if the broker had refused it.
      const err = new PublishRefusedError('EVENT_TOO_LARGE', cause.message, { cause });
      this.refused(err, [this.#record(event, encoded)]);
      throw err;
    }
    const records = [this.#record(split.head, encodeEvent(split.head))];
    for (const part of split.parts) {
      const e = this.events.nextContinuation({ case: 'continuation', value: part });
      records.push(this.#record(e, encodeEvent(e)));
    }
    // All or nothing: a head without its continuations would be a torn event.
    this.#publisher.assertAccepting(records.reduce((n, r) => n + recordBytes(r), 0));
    return records;
  }

  /** The session's shared fields, encoded once per identity. */
  #currentShared(): Uint8Array {
    const version = this.events.sharedVersion;
    if (this.#shared?.version !== version) {
      this.#shared = { version, bytes: encodeShared(this.events.shared()) };
    }
    return this.#shared.bytes;
  }

  /**
   * Adds the event's frames (one, or a head and its continuations) to the gathered batch; returns the batch records
   * that filled up on the way (to publish now, before what is still gathered). The frame of a small event is
   * written straight into the batch, open, and added once the publisher accepted its bytes.
   */
  #gather(body: EventBody, policyRevision: string): LogRecord[] {
    if (this.#failure && !AFTER_FAILURE.has(body.case)) throw this.#failure;
    const shared = this.#currentShared();
    const budget = this.#maxEventBytes - shared.length - BATCH_OVERHEAD;
    const event = this.events.nextFrame(body, policyRevision);
    const batch = this.#batch;
    batch.maxFrame = budget - frameOverhead(budget);
    if (!encodeFrameTo(event, batch)) return this.#gatherSplit(event, shared, budget);
    // All or nothing, and counted against the publisher's bounds like records in its buffer.
    this.#publisher.assertAccepting(batch.bytes + batch.openBytes, batch.count + 1);
    const full: LogRecord[] = [];
    this.#commit(event, shared, budget, full);
    return full;
  }

  /** An event over the frame limit as a head and its continuations, each a frame of at most `maxFrame` bytes. */
  #gatherSplit(event: Event, shared: Uint8Array, budget: number): LogRecord[] {
    const batch = this.#batch;
    let split: ReturnType<typeof splitEvent>;
    try {
      split = splitEvent(event, batch.maxFrame, this.events.continuationOverhead);
    } catch (cause) {
      if (!(cause instanceof EventTooLargeError)) throw cause;
      const err = new PublishRefusedError('EVENT_TOO_LARGE', cause.message, { cause });
      this.refused(err, [this.#record(event, encodeFrame(event))]);
      throw err;
    }
    const frames = [{ event: split.head, bytes: encodeEvent(split.head) }];
    for (const part of split.parts) {
      const e = this.events.nextContinuationFrame({ case: 'continuation', value: part });
      frames.push({ event: e, bytes: encodeEvent(e) });
    }
    let bytes = 0;
    for (const f of frames) bytes += frameOverhead(f.bytes.length) + f.bytes.length;
    this.#publisher.assertAccepting(batch.bytes + bytes, batch.count + frames.length);
    const full: LogRecord[] = [];
    for (const f of frames) {
      batch.openWith(f.bytes);
      this.#commit(f.event, shared, budget, full);
    }
    return full;
  }

  /** Adds the open frame (that of `frame`) to the batch, after taking the batch as a record if it cannot go in. */
  #commit(frame: Event, shared: Uint8Array, budget: number, full: LogRecord[]): void {
    const batch = this.#batch;
    // Other shared fields, a full batch, or seqs that would not be consecutive (an event refused after its seq
    // was spent) end the batch.
    if (
      batch.count > 0 &&
      (this.#pendingShared !== shared ||
        batch.bytes + batch.openBytes > budget ||
        frame.seq !== batch.lastSeq + 1n)
    )
      full.push(this.#takeRecord()!);
    batch.commit(frame);
    this.#pendingShared = shared;
  }

  #record(event: Event, encoded: Uint8Array): LogRecord {
    return {
      topic: this.#topic,
      key: event.sessionId,
      partitionKey: this.events.nodeId,
      value: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length),
      owner: this,
      seq: event.seq,
    };
  }
}
