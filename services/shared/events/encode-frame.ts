import type { Event, Request, Response } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from './codec.js';
import { varintLength, writeVarint } from './varint.js';

/** Protobuf wire types and tags used below (see proto/gatehouse/v1/events.proto); every tag fits one byte but 21/25. */
const LEN = 2;
const VARINT = 0;
const tag = (field: number, wire: number): number => (field << 3) | wire;
/** `Event.request`, `Event.response`. */
const REQUEST_TAG = tag(21, LEN);
const RESPONSE_TAG = tag(25, LEN);

/** Bytes of a string field (0 when the value is empty: proto3 leaves it out); `len` is the UTF-8 length. */
const strSize = (len: number): number => (len === 0 ? 0 : 1 + varintLength(len) + len);
const numSize = (v: number): number => (v === 0 ? 0 : 1 + varintLength(v));
const utf8 = (s: string): number => (s === '' ? 0 : Buffer.byteLength(s, 'utf8'));

function putStr(out: Buffer, pos: number, field: number, value: string, len: number): number {
  if (len === 0) return pos;
  out[pos++] = tag(field, LEN);
  pos = writeVarint(out, pos, len);
  return pos + out.write(value, pos, len, 'utf8');
}

function putNum(out: Buffer, pos: number, field: number, value: number): number {
  if (value === 0) return pos;
  out[pos++] = tag(field, VARINT);
  return writeVarint(out, pos, value);
}

function putBytes(out: Buffer, pos: number, field: number, value: Uint8Array): number {
  if (value.length === 0) return pos;
  out[pos++] = tag(field, LEN);
  pos = writeVarint(out, pos, value.length);
  out.set(value, pos);
  return pos + value.length;
}

const safe = (v: bigint): boolean => v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Encodes a batch frame (an event without the session's shared fields; see `EventBatch`) to the same protobuf
 * bytes as `encodeEvent`, written directly for the most frequent frames — a `response` or a `request` — into one
 * exactly sized buffer, with no intermediate objects; every other event, and any with unknown fields or numbers
 * beyond 2^53, goes through `encodeEvent`. Pure.
 */
export function encodeFrame(frame: Event): Uint8Array {
  const body = frame.body;
  if (
    (body.case !== 'response' && body.case !== 'request') ||
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
  const seq = Number(frame.seq);
  const ts = Number(frame.tsMicros);
  const idLen = utf8(frame.eventId);
  const revLen = utf8(frame.policyRevision);
  const outer = strSize(idLen) + numSize(seq) + numSize(ts) + strSize(revLen) + numSize(frame.continued);
  const bodyTag = body.case === 'response' ? RESPONSE_TAG : REQUEST_TAG;
  const inner = body.case === 'response' ? responseSize(body.value) : requestSize(body.value);
  const out = Buffer.allocUnsafe(outer + varintLength(bodyTag) + varintLength(inner) + inner);
  let pos = putStr(out, 0, 1, frame.eventId, idLen);
  pos = putNum(out, pos, 3, seq);
  pos = putNum(out, pos, 5, ts);
  pos = putStr(out, pos, 9, frame.policyRevision, revLen);
  pos = putNum(out, pos, 10, frame.continued);
  pos = writeVarint(out, pos, bodyTag);
  pos = writeVarint(out, pos, inner);
  if (body.case === 'response') putResponse(out, pos, body.value);
  else putRequest(out, pos, body.value);
  return out;
}

/** UTF-8 lengths of the body's strings, measured by the size functions and used by the put functions right after. */
const lens = [0, 0, 0];

function responseSize(r: Response): number {
  lens[0] = utf8(r.frame);
  lens[1] = utf8(r.text);
  lens[2] = utf8(r.code);
  const data = r.data.length === 0 ? 0 : 1 + varintLength(r.data.length) + r.data.length;
  return (
    numSize(r.requestId) + strSize(lens[0]) + data + numSize(r.rows) + strSize(lens[1]) + strSize(lens[2])
  );
}

function putResponse(out: Buffer, pos: number, r: Response): void {
  pos = putNum(out, pos, 1, r.requestId);
  pos = putStr(out, pos, 2, r.frame, lens[0]!);
  pos = putBytes(out, pos, 3, r.data);
  pos = putNum(out, pos, 4, r.rows);
  pos = putStr(out, pos, 5, r.text, lens[1]!);
  putStr(out, pos, 6, r.code, lens[2]!);
}

function requestSize(q: Request): number {
  lens[0] = utf8(q.kind);
  lens[1] = utf8(q.text);
  lens[2] = utf8(q.parsedJson);
  return numSize(q.requestId) + strSize(lens[0]) + strSize(lens[1]) + strSize(lens[2]);
}

function putRequest(out: Buffer, pos: number, q: Request): void {
  pos = putNum(out, pos, 1, q.requestId);
  pos = putStr(out, pos, 2, q.kind, lens[0]!);
  pos = putStr(out, pos, 3, q.text, lens[1]!);
  putStr(out, pos, 4, q.parsedJson, lens[2]!);
}
