import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { EventDecodeError } from './errors.js';
import { expandBatch } from './event-batch.js';

export type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';

/** Encodes an event envelope to its protobuf bytes. Pure. */
export function encodeEvent(event: Event): Uint8Array {
  return toBinary(EventSchema, event);
}

/**
 * Decodes protobuf bytes into an event envelope. Unknown fields are kept (forward compatible); corrupt bytes or an
 * envelope without the identifying fields are rejected with `EventDecodeError`. `decode` (default `fromBinary`) may be
 * a faster decoder that gives the same message (the recorder's).
 */
export function decodeEvent(
  bytes: Uint8Array,
  decode: (bytes: Uint8Array) => Event = fromBinaryEvent,
): Event {
  let event: Event;
  try {
    event = decode(bytes);
  } catch (cause) {
    throw new EventDecodeError(`corrupt event bytes (${bytes.length} bytes): ${(cause as Error).message}`, {
      cause,
    });
  }
  if (event.eventId === '' || event.sessionId === '' || event.seq === 0n || event.body.case === undefined) {
    throw new EventDecodeError(
      `incomplete event envelope: event_id, session_id, seq and a body are required (${bytes.length} bytes)`,
    );
  }
  return event;
}

/**
 * The events of one Kafka record of a session stream: one event, or the expanded frames of an `EventBatch` (each
 * with the session's shared fields filled in). Throws `EventDecodeError` for corrupt bytes or a refused batch.
 */
export function decodeRecord(
  bytes: Uint8Array,
  decode: (bytes: Uint8Array) => Event = fromBinaryEvent,
): Event[] {
  return expandBatch(decodeEvent(bytes, decode));
}

/** `fromBinary` of an envelope, unknown fields kept: the definition any other `decode` must equal. */
export function fromBinaryEvent(bytes: Uint8Array): Event {
  return fromBinary(EventSchema, bytes, { readUnknownFields: true });
}
