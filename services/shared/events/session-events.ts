import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { ConnectionSchema, EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { toProtoIdentity } from './proto-identity.js';
import type { IdentityFields } from './proto-identity.js';

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

const microsNow = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));

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
}
