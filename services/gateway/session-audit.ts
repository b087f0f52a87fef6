import { create } from '@bufbuild/protobuf';
import { AuditFailureSchema } from '../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from '../shared/events/codec.js';
import type { Event } from '../shared/events/codec.js';
import { EventTooLargeError } from '../shared/events/errors.js';
import type { EventBody, SessionEvents } from '../shared/events/session-events.js';
import { splitEvent } from '../shared/events/split-event.js';
import { PublishRefusedError } from '../shared/log/errors.js';
import { recordBytes } from '../shared/log/log-record.js';
import type { EventPublisher, LogRecord, RecordOwner } from '../shared/log/publisher.js';

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
 * seqs (see splitEvent). Events that fit are encoded once and not copied.
 *
 * When the broker refuses one of the session's records for good (the publisher tells its owner), the session
 * fails: an `audit_failure` marker goes onto its stream, the `onFailure` handler closes the client with an error,
 * and later publishes throw the refusal. Publishing errors propagate: the caller refuses the work (fail closed).
 */
export class SessionAudit implements RecordOwner {
  readonly events: SessionEvents;
  readonly #publisher: EventPublisher;
  readonly #topic: string;
  readonly #maxEventBytes: number;
  #failure: PublishRefusedError | undefined;
  #onFailure: ((err: PublishRefusedError) => void) | undefined;

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
    for (const record of this.#records(body, policyRevision)) this.#publisher.publishBatched(record);
  }

  async durable(body: EventBody, policyRevision = ''): Promise<void> {
    const records = this.#records(body, policyRevision);
    if (records.length === 1) return this.#publisher.publishDurable(records[0]!);
    await Promise.all(records.map((r) => this.#publisher.publishDurable(r)));
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
          refusedSeqs: records.map((r) => r.seq ?? 0n),
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

  #record(event: Event, encoded: Uint8Array): LogRecord {
    return {
      topic: this.#topic,
      key: event.sessionId,
      value: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length),
      owner: this,
      seq: event.seq,
    };
  }
}
