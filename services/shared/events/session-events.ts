import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  ConnectionSchema,
  ContinuationSchema,
  EventSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { eventId } from './event-id.js';
import { toProtoIdentity } from './proto-identity.js';
import type { IdentityFields } from './proto-identity.js';
import type { SharedFields } from './event-batch.js';

export type EventBody = Exclude<Event['body'], { case: undefined }>;

export type SessionIdentity = IdentityFields;

export type SessionEventsOptions = {
  sessionId?: string;
  nodeId: string;
  protocol: string;
  connection: { name: string; tags: Readonly<Record<string, string>> };
  identity?: SessionIdentity;
  now?: () => bigint;
};

/**
 * The clock, in µs since the epoch. `performance` is imported and its origin read once: the global `performance`
 * and its `timeOrigin` are getters, run on every read (three calls per frame for a constant).
 */
const origin = performance.timeOrigin;
const microsNow = (): bigint => BigInt(Math.round((origin + performance.now()) * 1000));

/**
 * Builds the ordered event stream of one session: every event gets a fresh id, the session id, and the next
 * sequence number (1, 2, 3 … without gaps). Pure apart from the clock and the id generator.
 */
export class SessionEvents {
  readonly sessionId: string;
  readonly nodeId: string;
  #seq = 0n;
  #identity: Event['identity'];
  readonly #connection: Event['connection'];
  readonly #protocol: string;
  readonly #now: () => bigint;

  constructor(opts: SessionEventsOptions) {
    this.sessionId = opts.sessionId ?? randomUUID();
    this.nodeId = opts.nodeId;
    this.#protocol = opts.protocol;
    this.#now = opts.now ?? microsNow;
    this.#connection = create(ConnectionSchema, {
      name: opts.connection.name,
      protocol: opts.protocol,
      tags: { ...opts.connection.tags },
    });
    if (opts.identity) this.setIdentity(opts.identity);
  }

  /** The identity is known only after authentication; events before it carry none. */
  setIdentity(identity: SessionIdentity): void {
    this.#identity = toProtoIdentity(identity);
    this.#sharedVersion++;
  }

  #sharedVersion = 0;
  /** Changes whenever `shared()` does (the identity was set): frames of different versions never share a batch. */
  get sharedVersion(): number {
    return this.#sharedVersion;
  }

  /** What every event of this session shares (a batch envelope states it once; see `EventBatch`). */
  shared(): SharedFields {
    return {
      sessionId: this.sessionId,
      nodeId: this.nodeId,
      identity: this.#identity,
      connection: this.#connection,
      protocol: this.#protocol,
    };
  }

  /** The next event as a batch frame: like `next`, without the shared fields (the batch envelope has them). */
  nextFrame(body: EventBody, policyRevision = ''): Event {
    this.#seq += 1n;
    // The zero event's fields written out (a literal of one shape: cheaper than a spread of a zero message).
    return {
      $typeName: 'gatehouse.v1.Event',
      eventId: eventId(),
      sessionId: '',
      seq: this.#seq,
      nodeId: '',
      tsMicros: this.#now(),
      protocol: '',
      policyRevision,
      continued: 0,
      body,
    };
  }

  /** The next `Continuation` as a batch frame (`nextContinuation` without the shared fields). */
  nextContinuationFrame(body: Extract<EventBody, { case: 'continuation' }>): Event {
    this.#seq += 1n;
    return create(EventSchema, { eventId: randomUUID(), seq: this.#seq, tsMicros: this.#now(), body });
  }

  get lastSeq(): bigint {
    return this.#seq;
  }

  next(body: EventBody, policyRevision = ''): Event {
    this.#seq += 1n;
    return create(EventSchema, {
      eventId: randomUUID(),
      sessionId: this.sessionId,
      seq: this.#seq,
      nodeId: this.nodeId,
      tsMicros: this.#now(),
      identity: this.#identity,
      connection: this.#connection,
      protocol: this.#protocol,
      policyRevision,
      body,
    });
  }

  /** The next envelope for a `Continuation` body: like `next`, without identity (the head carries it). */
  nextContinuation(body: Extract<EventBody, { case: 'continuation' }>): Event {
    this.#seq += 1n;
    return create(EventSchema, {
      eventId: randomUUID(),
      sessionId: this.sessionId,
      seq: this.#seq,
      nodeId: this.nodeId,
      tsMicros: this.#now(),
      connection: this.#connection,
      protocol: this.#protocol,
      body,
    });
  }

  #continuationOverhead: number | undefined;
  /** Upper bound of the encoded size of a continuation envelope of this session with empty `data`. */
  get continuationOverhead(): number {
    this.#continuationOverhead ??=
      toBinary(
        EventSchema,
        create(EventSchema, {
          eventId: randomUUID(),
          sessionId: this.sessionId,
          seq: 2n ** 63n,
          nodeId: this.nodeId,
          tsMicros: 2n ** 62n,
          connection: this.#connection,
          protocol: this.#protocol,
          body: {
            case: 'continuation',
            value: create(ContinuationSchema, {
              headSeq: 2n ** 63n,
              field: 2 ** 29,
              fieldName: 'x'.repeat(64),
              part: 2 ** 32 - 1,
              parts: 2 ** 32 - 1,
              requestId: 2 ** 32 - 1,
            }),
          },
        }),
      ).length + 16; // the data field's tag and length
    return this.#continuationOverhead;
  }
}
