import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { EventDecodeError } from './errors.js';
import type { FrameTarget } from './encode-frame.js';
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

/** What a batch envelope repeats of its first frame. */
export type FirstFrame = Pick<EncodedFrame, 'eventId' | 'seq' | 'tsMicros'>;

/** What every frame of a session shares and a batch envelope states once. */
export type SharedFields = Pick<Event, 'sessionId' | 'nodeId' | 'identity' | 'connection' | 'protocol'>;

/** Field number of `Event.batch`. */
const BATCH_FIELD = 38;
/** Tag of `EventBatch.events` (field 1, length-delimited): what precedes each frame in a batch. */
const FRAME_TAG = (1 << 3) | WireType.LengthDelimited;

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

/** The batch envelope after the shared fields: the first frame's id, seq and time, then the tag and length of the batch. */
function batchHead(first: FirstFrame, inner: number): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .string(first.eventId)
    .tag(3, WireType.Varint)
    .uint64(first.seq)
    .tag(5, WireType.Varint)
    .int64(first.tsMicros)
    .tag(BATCH_FIELD, WireType.LengthDelimited)
    .uint32(inner)
    .finish();
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
  const head = batchHead(first, inner);
  const out = Buffer.allocUnsafe(shared.length + head.length + inner);
  out.set(shared, 0);
  out.set(head, shared.length);
  let pos = shared.length + head.length;
  for (const f of frames) {
    out[pos++] = FRAME_TAG;
    pos = writeVarint(out, pos, f.bytes.length);
    out.set(f.bytes, pos);
    pos += f.bytes.length;
  }
  return out;
}

/** Sizes of a batch buffer's chunks: the first, and the largest a chunk doubles to (a frame gets its own if larger). */
const FIRST_CHUNK = 1024;
const MAX_CHUNK = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * The frames of one batch record while they are gathered: each frame is written once, after the previous one, into
 * chunks of 1 KiB doubling to 64 KiB, and `take` copies them behind the envelope in one exactly sized record value
 * (the bytes of `encodeBatch`), releasing the chunks. A frame is first open (written, not yet in the batch), so
 * that its size can be checked before `commit`; `take` keeps an open frame as the first of the next batch.
 */
export class BatchBuffer implements FrameTarget {
  /** Frames longer than this are declined by `open` (not written). */
  maxFrame = Number.MAX_SAFE_INTEGER;
  /** Full chunks (their used bytes), the current one, and its committed bytes. */
  #full: Buffer[] = [];
  #out: Buffer = EMPTY;
  #at = 0;
  /** Bytes of the committed frames, of the open frame (tag and length included; 0: none). */
  #bytes = 0;
  #open = 0;
  #count = 0;
  #first: FirstFrame | undefined;
  #lastSeq = 0n;

  get out(): Buffer {
    return this.#out;
  }

  /** Frames in the batch (the open one not counted). */
  get count(): number {
    return this.#count;
  }

  /** Bytes of the batch's frames inside the record (tags and lengths included; the open frame not counted). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes the open frame adds to the batch when committed (0: no frame open). */
  get openBytes(): number {
    return this.#open;
  }

  get firstSeq(): bigint | undefined {
    return this.#first?.seq;
  }

  get lastSeq(): bigint {
    return this.#lastSeq;
  }

  /** FrameTarget: opens a frame of `length` bytes after the committed ones (replacing an open frame). */
  open(length: number): number {
    this.#open = 0;
    return length > this.maxFrame ? -1 : this.#openFrame(length);
  }

  /** Opens a frame holding `bytes` (whatever `maxFrame` says: the caller sized it). */
  openWith(bytes: Uint8Array): void {
    this.#open = 0;
    const pos = this.#openFrame(bytes.length);
    this.#out.set(bytes, pos);
  }

  #openFrame(length: number): number {
    const size = frameOverhead(length) + length;
    if (this.#at + size > this.#out.length) {
      if (this.#at > 0) this.#full.push(this.#out.subarray(0, this.#at));
      const next = Math.min(Math.max(2 * this.#out.length, FIRST_CHUNK), MAX_CHUNK);
      this.#out = Buffer.allocUnsafe(Math.max(size, next));
      this.#at = 0;
    }
    const out = this.#out;
    out[this.#at] = FRAME_TAG;
    const pos = writeVarint(out, this.#at + 1, length);
    this.#open = size;
    return pos;
  }

  /** Makes the open frame (that of `frame`) the batch's next. */
  commit(frame: FirstFrame): void {
    if (this.#open === 0) throw new Error('BatchBuffer: no open frame to commit');
    if (this.#count === 0) this.#first = { eventId: frame.eventId, seq: frame.seq, tsMicros: frame.tsMicros };
    this.#at += this.#open;
    this.#bytes += this.#open;
    this.#open = 0;
    this.#count++;
    this.#lastSeq = frame.seq;
  }

  /** Closes the open frame without adding it. */
  discard(): void {
    this.#open = 0;
  }

  /** The batch as a record value behind `shared` (see `encodeBatch`), or undefined when empty; starts the next. */
  take(shared: Uint8Array): Buffer | undefined {
    const first = this.#first;
    if (first === undefined || this.#count === 0) return undefined;
    const head = batchHead(first, this.#bytes);
    const value = Buffer.allocUnsafe(shared.length + head.length + this.#bytes);
    value.set(shared, 0);
    value.set(head, shared.length);
    let pos = shared.length + head.length;
    for (const chunk of this.#full) {
      value.set(chunk, pos);
      pos += chunk.length;
    }
    value.set(this.#out.subarray(0, this.#at), pos);
    if (pos + this.#at !== value.length) throw new Error('BatchBuffer: frames lost their count');
    if (this.#open > 0) this.#out.copyWithin(0, this.#at, this.#at + this.#open);
    else this.#out = EMPTY;
    this.#full = [];
    this.#at = 0;
    this.#bytes = 0;
    this.#count = 0;
    this.#first = undefined;
    return value;
  }
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
