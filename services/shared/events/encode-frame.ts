import type { Event, Response } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from './codec.js';
import { varintLength, writeVarint } from './varint.js';

/** Protobuf field numbers and wire types used below (see proto/gatehouse/v1/events.proto). */
const LEN = 2;
const VARINT = 0;
const tag = (field: number, wire: number): number => (field << 3) | wire;
/** `Event.response`. */
const RESPONSE_FIELD = 25;

/** Field sizes of one message, then its bytes: strings measured once, numbers as safe integers. */
type Field =
  | { n: number; kind: 'varint'; value: number }
  | { n: number; kind: 'string'; value: string; len: number }
  | { n: number; kind: 'bytes'; value: Uint8Array };

function fieldLength(f: Field): number {
  const t = varintLength(tag(f.n, f.kind === 'varint' ? VARINT : LEN));
  if (f.kind === 'varint') return t + varintLength(f.value);
  const len = f.kind === 'string' ? f.len : f.value.length;
  return t + varintLength(len) + len;
}

function writeField(out: Buffer, pos: number, f: Field): number {
  pos = writeVarint(out, pos, tag(f.n, f.kind === 'varint' ? VARINT : LEN));
  if (f.kind === 'varint') return writeVarint(out, pos, f.value);
  if (f.kind === 'string') {
    pos = writeVarint(out, pos, f.len);
    return pos + out.write(f.value, pos, f.len, 'utf8');
  }
  pos = writeVarint(out, pos, f.value.length);
  out.set(f.value, pos);
  return pos + f.value.length;
}

const str = (n: number, value: string): Field[] =>
  value === '' ? [] : [{ n, kind: 'string', value, len: Buffer.byteLength(value, 'utf8') }];
const num = (n: number, value: number): Field[] => (value === 0 ? [] : [{ n, kind: 'varint', value }]);

function responseFields(r: Response): Field[] {
  return [
    ...num(1, r.requestId),
    ...str(2, r.frame),
    ...(r.data.length === 0 ? [] : [{ n: 3, kind: 'bytes' as const, value: r.data }]),
    ...num(4, r.rows),
    ...str(5, r.text),
    ...str(6, r.code),
  ];
}

const safe = (v: bigint): boolean => v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Encodes a batch frame (an event without the session's shared fields; see `EventBatch`) to the same protobuf
 * bytes as `encodeEvent`, written directly for the most frequent frame — a `response` — into one exactly sized
 * buffer; every other event, and any with unknown fields or numbers beyond 2^53, goes through `encodeEvent`. Pure.
 */
export function encodeFrame(frame: Event): Uint8Array {
  const body = frame.body;
  if (
    body.case !== 'response' ||
    frame.$unknown !== undefined ||
    body.value.$unknown !== undefined ||
    frame.sessionId !== '' ||
    frame.nodeId !== '' ||
    frame.protocol !== '' ||
    frame.identity !== undefined ||
    frame.connection !== undefined ||
    !safe(frame.seq) ||
    !safe(frame.tsMicros)
  ) {
    return encodeEvent(frame);
  }
  const inner = responseFields(body.value);
  let innerLength = 0;
  for (const f of inner) innerLength += fieldLength(f);
  const outer: Field[] = [
    ...str(1, frame.eventId),
    ...num(3, Number(frame.seq)),
    ...num(5, Number(frame.tsMicros)),
    ...str(9, frame.policyRevision),
    ...num(10, frame.continued),
  ];
  let length = varintLength(tag(RESPONSE_FIELD, LEN)) + varintLength(innerLength) + innerLength;
  for (const f of outer) length += fieldLength(f);
  const out = Buffer.allocUnsafe(length);
  let pos = 0;
  for (const f of outer) pos = writeField(out, pos, f);
  pos = writeVarint(out, pos, tag(RESPONSE_FIELD, LEN));
  pos = writeVarint(out, pos, innerLength);
  for (const f of inner) pos = writeField(out, pos, f);
  return out;
}
