import type { DescMessage } from '@bufbuild/protobuf';
import { DecisionSchema, RequestSchema, ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Decision, Event, Request, Response } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from './codec.js';
import { varintLength, writeVarint } from './varint.js';

/** Protobuf field numbers and wire types used below (see proto/gatehouse/v1/events.proto). */
const LEN = 2;
const VARINT = 0;
const tag = (field: number, wire: number): number => (field << 3) | wire;
/** `Event.request`, `Event.decision`, `Event.response`. */
const REQUEST_FIELD = 21;
const DECISION_FIELD = 22;
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
    return writeUtf8(out, pos, f.value, f.len);
  }
  pos = writeVarint(out, pos, f.value.length);
  out.set(f.value, pos);
  return pos + f.value.length;
}

/** Appends a field unless it holds its zero value (protobuf-es writes none then). */
function addString(out: Field[], n: number, value: string): void {
  if (value !== '') out.push({ n, kind: 'string', value, len: Buffer.byteLength(value, 'utf8') });
}
function addVarint(out: Field[], n: number, value: number): void {
  if (value !== 0) out.push({ n, kind: 'varint', value });
}
function addBool(out: Field[], n: number, value: boolean): void {
  if (value) out.push({ n, kind: 'varint', value: 1 });
}
/** A repeated string: every element is written, empty ones too. */
function addStrings(out: Field[], n: number, values: readonly string[]): void {
  for (const value of values) out.push({ n, kind: 'string', value, len: Buffer.byteLength(value, 'utf8') });
}

/**
 * Decision fields in field-number order, as protobuf-es writes them: pushed into one array (one spread of nineteen
 * small arrays per decision frame was the encoder's largest allocation).
 */
function decisionFields(d: Decision): Field[] {
  const out: Field[] = [];
  addVarint(out, 1, d.requestId);
  addBool(out, 2, d.allow);
  addStrings(out, 3, d.reasons);
  addBool(out, 4, d.approvalRequired);
  addStrings(out, 5, d.approvalGroups);
  addVarint(out, 6, d.approvalsNeeded);
  addStrings(out, 7, d.maskColumns);
  addStrings(out, 8, d.maskDetectors);
  addString(out, 9, d.audit);
  addVarint(out, 10, d.evalMicros);
  addBool(out, 11, d.policyError);
  addString(out, 12, d.decisionJson);
  addString(out, 13, d.grantApprovalId);
  addString(out, 17, d.argumentsDigest);
  addBool(out, 18, d.toolChanged);
  addVarint(out, 20, Number(d.inputUnix));
  addString(out, 21, d.inputSessionJson);
  addString(out, 22, d.inputGrantsJson);
  addBool(out, 23, d.memoHit);
  return out;
}

/**
 * Whether a message still has exactly the fields this file writes: a field added to the schema later sends its
 * events back to `encodeEvent` (nothing is ever dropped silently), until it is written here too.
 */
function hasExactly(desc: DescMessage, numbers: readonly number[]): boolean {
  const declared = desc.fields.map((f) => f.number).sort((a, b) => a - b);
  return declared.length === numbers.length && declared.every((n, i) => n === numbers[i]);
}

const DIRECT = {
  request: hasExactly(RequestSchema, [1, 2, 3, 4]),
  decision: hasExactly(DecisionSchema, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18, 20, 21, 22, 23]),
  response: hasExactly(ResponseSchema, [1, 2, 3, 4, 5, 6]),
};

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const safe = (v: bigint): boolean => v >= 0n && v <= MAX_SAFE;

/** UTF-8 length of `s`. */
const utf8Length = (s: string): number => (s === '' ? 0 : Buffer.byteLength(s, 'utf8'));

/**
 * Writes `s` (`len` UTF-8 bytes) at `pos`. An ASCII string (its UTF-8 length is its length) is its Latin-1 bytes: a
 * short one (names, tags) is written char by char, cheaper than a call of `Buffer.write`; a longer one (event ids,
 * which are slices of a longer string, slower to read char by char; JSON) is copied as Latin-1: measured cheaper
 * from ~32 chars than the loop, and than encoding it as UTF-8. Returns the end.
 */
function writeUtf8(out: Buffer, pos: number, s: string, len: number): number {
  if (len !== s.length) return pos + out.write(s, pos, len, 'utf8');
  if (len > 32) return pos + out.write(s, pos, len, 'latin1');
  for (let i = 0; i < len; i++) out[pos + i] = s.charCodeAt(i);
  return pos + len;
}

/** Bytes of a length-delimited field of `len` bytes with a one-byte tag (fields 1-15); 0 when empty. */
const lenField = (len: number): number => (len === 0 ? 0 : 1 + varintLength(len) + len);
/** Bytes of a varint field with a one-byte tag; 0 when zero (not written). */
const varintField = (value: number): number => (value === 0 ? 0 : 1 + varintLength(value));

function putVarint(out: Buffer, pos: number, field: number, value: number): number {
  if (value === 0) return pos;
  out[pos++] = tag(field, VARINT);
  return writeVarint(out, pos, value);
}

function putString(out: Buffer, pos: number, field: number, s: string, len: number): number {
  if (len === 0) return pos;
  out[pos++] = tag(field, LEN);
  pos = writeVarint(out, pos, len);
  return writeUtf8(out, pos, s, len);
}

function putBytes(out: Buffer, pos: number, field: number, bytes: Uint8Array): number {
  if (bytes.length === 0) return pos;
  out[pos++] = tag(field, LEN);
  pos = writeVarint(out, pos, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}

/**
 * Where frames are written: `open(length)` makes room for a frame of `length` bytes and returns where in `out` its
 * bytes go, or -1 to decline it (nothing is written then).
 */
export interface FrameTarget {
  readonly out: Buffer;
  open(length: number): number;
}

/**
 * Opens a frame at `target` and writes its envelope fields (id, seq, time, revision, continued) and the tag and
 * length of its body (`field`, `innerLength` bytes, which the caller writes next): the straight-line path of the
 * request, decision and response frames. Returns where the body goes, or -1 when the target declined the frame.
 */
function openFrame(target: FrameTarget, frame: Event, field: number, innerLength: number): number {
  const idLength = utf8Length(frame.eventId);
  const revisionLength = utf8Length(frame.policyRevision);
  const seq = Number(frame.seq);
  const ts = Number(frame.tsMicros);
  const length =
    lenField(idLength) +
    varintField(seq) +
    varintField(ts) +
    lenField(revisionLength) +
    varintField(frame.continued) +
    varintLength(tag(field, LEN)) +
    varintLength(innerLength) +
    innerLength;
  let pos = target.open(length);
  if (pos < 0) return pos;
  const out = target.out;
  const end = pos + length;
  pos = putString(out, pos, 1, frame.eventId, idLength);
  pos = putVarint(out, pos, 3, seq);
  pos = putVarint(out, pos, 5, ts);
  pos = putString(out, pos, 9, frame.policyRevision, revisionLength);
  pos = putVarint(out, pos, 10, frame.continued);
  pos = writeVarint(out, pos, tag(field, LEN));
  pos = writeVarint(out, pos, innerLength);
  if (pos + innerLength !== end)
    throw new Error(`encodeFrame: frame head of ${pos} bytes does not fit ${length}`);
  return pos;
}

/** Checks that a frame's body ended where its length said. */
function closeFrame(pos: number, end: number): true {
  if (pos !== end) throw new Error(`encodeFrame: wrote ${pos} of ${end} bytes`);
  return true;
}

function responseFrame(target: FrameTarget, frame: Event, r: Response): boolean {
  const nameLength = utf8Length(r.frame);
  const textLength = utf8Length(r.text);
  const codeLength = utf8Length(r.code);
  const inner =
    varintField(r.requestId) +
    lenField(nameLength) +
    lenField(r.data.length) +
    varintField(r.rows) +
    lenField(textLength) +
    lenField(codeLength);
  let pos = openFrame(target, frame, RESPONSE_FIELD, inner);
  if (pos < 0) return false;
  const out = target.out;
  const end = pos + inner;
  pos = putVarint(out, pos, 1, r.requestId);
  pos = putString(out, pos, 2, r.frame, nameLength);
  pos = putBytes(out, pos, 3, r.data);
  pos = putVarint(out, pos, 4, r.rows);
  pos = putString(out, pos, 5, r.text, textLength);
  return closeFrame(putString(out, pos, 6, r.code, codeLength), end);
}

function requestFrame(target: FrameTarget, frame: Event, r: Request): boolean {
  const kindLength = utf8Length(r.kind);
  const textLength = utf8Length(r.text);
  const parsedLength = utf8Length(r.parsedJson);
  const inner =
    varintField(r.requestId) + lenField(kindLength) + lenField(textLength) + lenField(parsedLength);
  let pos = openFrame(target, frame, REQUEST_FIELD, inner);
  if (pos < 0) return false;
  const out = target.out;
  const end = pos + inner;
  pos = putVarint(out, pos, 1, r.requestId);
  pos = putString(out, pos, 2, r.kind, kindLength);
  pos = putString(out, pos, 3, r.text, textLength);
  return closeFrame(putString(out, pos, 4, r.parsedJson, parsedLength), end);
}

function decisionFrame(target: FrameTarget, frame: Event, d: Decision): boolean {
  const inner = decisionFields(d);
  let innerLength = 0;
  for (const f of inner) innerLength += fieldLength(f);
  let pos = openFrame(target, frame, DECISION_FIELD, innerLength);
  if (pos < 0) return false;
  const out = target.out;
  const end = pos + innerLength;
  for (const f of inner) pos = writeField(out, pos, f);
  return closeFrame(pos, end);
}

/**
 * Writes a batch frame (an event without the session's shared fields; see `EventBatch`) to `target`, as the same
 * protobuf bytes as `encodeEvent`: written directly for the frames of every request — `request`, `decision`,
 * `response`; every other event, and any with unknown fields, numbers beyond 2^53 or a schema field this file does
 * not write, is encoded by `encodeEvent` and copied. Returns whether the target took the frame. Pure.
 */
export function encodeFrameTo(frame: Event, target: FrameTarget): boolean {
  const direct =
    frame.$unknown === undefined &&
    frame.sessionId === '' &&
    frame.nodeId === '' &&
    frame.protocol === '' &&
    frame.identity === undefined &&
    frame.connection === undefined &&
    safe(frame.seq) &&
    safe(frame.tsMicros) &&
    frame.body.value?.$unknown === undefined;
  const body = frame.body;
  if (direct && body.case === 'response' && DIRECT.response) return responseFrame(target, frame, body.value);
  if (direct && body.case === 'request' && DIRECT.request) return requestFrame(target, frame, body.value);
  if (direct && body.case === 'decision' && DIRECT.decision && safe(body.value.inputUnix))
    return decisionFrame(target, frame, body.value);
  const bytes = encodeEvent(frame);
  const pos = target.open(bytes.length);
  if (pos < 0) return false;
  target.out.set(bytes, pos);
  return true;
}

/** A target that takes every frame into a buffer of its exact size. */
class ExactBuffer implements FrameTarget {
  out = Buffer.alloc(0);
  open(length: number): number {
    this.out = Buffer.allocUnsafe(length);
    return 0;
  }
}

/** A batch frame in a buffer of its own (`encodeFrameTo` an exactly sized buffer). Pure. */
export function encodeFrame(frame: Event): Uint8Array {
  const target = new ExactBuffer();
  encodeFrameTo(frame, target);
  return target.out;
}
