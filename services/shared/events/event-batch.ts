import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { EventDecodeError } from './errors.js';
import { varintLength, writeVarint } from './varint.js';

/**
 * One event of a batch, already encoded without the session's shared fields (see `EventBatch` in
 * proto/gatehouse/v1/events.proto), with what the batch envelope repeats of its first frame.
 */
export type EncodedFrame = {
  readonly eventId: string;
  readonly seq: bigint;
  readonly tsMicros: bigint;
  readonly bytes: Uint8Array;
};

/** What every frame of a session shares and a batch envelope states once. */
export type SharedFields = Pick<Event, 'sessionId' | 'nodeId' | 'identity' | 'connection' | 'protocol'>;

/** Field number of `Event.batch`. */
const BATCH_FIELD = 38;
/** Field number of `EventBatch.events`. */
const EVENTS_FIELD = 1;

/** The encoded shared fields of a session: the part of every batch envelope that does not change. Pure. */
export function encodeShared(shared: SharedFields): Uint8Array {
  return toBinary(
    EventSchema,
    create(EventSchema, {
      sessionId: shared.sessionId,
      nodeId: shared.nodeId,
      identity: shared.identity,
      connection: shared.connection,
      protocol: shared.protocol,
    }),
  );
}

/** Bytes a batch adds to its frames' bytes, at most: the first frame's id, seq and time, and the batch's tags. */
export const BATCH_OVERHEAD = 128;

/** Bytes one frame adds inside a batch (its tag and length). */
export function frameOverhead(frameBytes: number): number {
  return 1 + varintLength(frameBytes);
}

/**
 * Encodes a batch envelope: `shared` (from `encodeShared`) followed by the first frame's id, seq and time and the
 * frames themselves. Pure; the result is allocated once at its exact size and each frame's bytes are copied once.
 */
export function encodeBatch(shared: Uint8Array, frames: readonly EncodedFrame[]): Buffer {
  const first = frames[0];
  if (first === undefined) throw new Error('encodeBatch: no frames');
  let inner = 0;
  for (const f of frames) inner += frameOverhead(f.bytes.length) + f.bytes.length;
  const head = new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .string(first.eventId)
    .tag(3, WireType.Varint)
    .uint64(first.seq)
    .tag(5, WireType.Varint)
    .int64(first.tsMicros)
    .tag(BATCH_FIELD, WireType.LengthDelimited)
    .uint32(inner)
    .finish();
  const out = Buffer.allocUnsafe(shared.length + head.length + inner);
  out.set(shared, 0);
  out.set(head, shared.length);
  let pos = shared.length + head.length;
  for (const f of frames) {
    out[pos++] = (EVENTS_FIELD << 3) | WireType.LengthDelimited;
    pos = writeVarint(out, pos, f.bytes.length);
    out.set(f.bytes, pos);
    pos += f.bytes.length;
  }
  return out;
}

function refuse(envelope: Event, why: string): never {
  throw new EventDecodeError(
    `refused event batch of session ${envelope.sessionId.slice(0, 64)} at seq ${envelope.seq}: ${why}`,
  );
}

/**
 * The events of a decoded batch envelope, each with the session's shared fields filled in from the envelope (a
 * continuation frame takes no identity, as it never carried one): the same events the session would have published
 * one by one. The envelope's frames are completed in place and returned (decode a record once per call). Throws `EventDecodeError` for a batch that is empty, has a seq out of order, a frame of another
 * session or node, a frame without id or body, or a nested batch: a batch is recorded whole or not at all.
 */
export function expandBatch(envelope: Event): Event[] {
  if (envelope.body.case !== 'batch') return [envelope];
  const frames = envelope.body.value.events;
  if (frames.length === 0) refuse(envelope, 'no frames');
  const out: Event[] = [];
  for (const [i, f] of frames.entries()) {
    const at = `frame ${i + 1}`;
    if (f.body.case === undefined) refuse(envelope, `${at} has no body`);
    if (f.body.case === 'batch') refuse(envelope, `${at} is a nested batch`);
    if (f.eventId === '') refuse(envelope, `${at} has no event id`);
    if (f.sessionId !== '' && f.sessionId !== envelope.sessionId)
      refuse(envelope, `${at} names another session`);
    if (f.nodeId !== '' && f.nodeId !== envelope.nodeId) refuse(envelope, `${at} names another node`);
    if (f.seq !== envelope.seq + BigInt(i))
      refuse(envelope, `${at} has seq ${f.seq}, not ${envelope.seq + BigInt(i)}`);
    if (i === 0 && (f.eventId !== envelope.eventId || f.tsMicros !== envelope.tsMicros)) {
      refuse(envelope, 'the envelope does not state its first frame');
    }
    // The frames were decoded for this call: fill them in place (no copy of each event).
    if (f.body.case !== 'continuation') f.identity ??= envelope.identity;
    f.sessionId = envelope.sessionId;
    f.nodeId = envelope.nodeId;
    f.connection ??= envelope.connection;
    f.protocol ||= envelope.protocol;
    out.push(f);
  }
  return out;
}

/**
 * Encodes whole events (as `SessionEvents.next` builds them) as batch records, at most `perBatch` events each and a
 * new batch wherever the shared fields change: what a gateway session publishes, for tools, the embedded log and
 * tests. Pure. The events must be consecutive events of one session.
 */
export function encodeAsBatches(events: readonly Event[], perBatch = Number.MAX_SAFE_INTEGER): Buffer[] {
  const out: Buffer[] = [];
  let shared: Uint8Array | undefined;
  let frames: EncodedFrame[] = [];
  const flush = (): void => {
    if (shared !== undefined && frames.length > 0) out.push(encodeBatch(shared, frames));
    frames = [];
  };
  for (const e of events) {
    const continuation = e.body.case === 'continuation';
    const own = encodeShared({ ...e, identity: continuation ? undefined : e.identity });
    if (shared === undefined || (!continuation && Buffer.compare(own, shared) !== 0)) {
      flush();
      shared = own;
    }
    if (frames.length >= perBatch) flush();
    const frame = create(EventSchema, {
      eventId: e.eventId,
      seq: e.seq,
      tsMicros: e.tsMicros,
      policyRevision: e.policyRevision,
      continued: e.continued,
      identity: continuation ? e.identity : undefined,
      body: e.body,
    });
    frames.push({
      eventId: e.eventId,
      seq: e.seq,
      tsMicros: e.tsMicros,
      bytes: toBinary(EventSchema, frame),
    });
  }
  flush();
  return out;
}
