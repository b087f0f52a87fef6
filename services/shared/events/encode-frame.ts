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

const bool = (n: number, value: boolean): Field[] => (value ? [{ n, kind: 'varint', value: 1 }] : []);
/** A repeated string: every element is written, empty ones too. */
const strs = (n: number, values: readonly string[]): Field[] =>
  values.map((value) => ({ n, kind: 'string', value, len: Buffer.byteLength(value, 'utf8') }));

function requestFields(r: Request): Field[] {
  return [...num(1, r.requestId), ...str(2, r.kind), ...str(3, r.text), ...str(4, r.parsedJson)];
}

/** Decision fields in field-number order, as protobuf-es writes them. */
function decisionFields(d: Decision): Field[] {
  return [
    ...num(1, d.requestId),
    ...bool(2, d.allow),
    ...strs(3, d.reasons),
    ...bool(4, d.approvalRequired),
    ...strs(5, d.approvalGroups),
    ...num(6, d.approvalsNeeded),
    ...strs(7, d.maskColumns),
    ...strs(8, d.maskDetectors),
    ...str(9, d.audit),
    ...num(10, d.evalMicros),
    ...bool(11, d.policyError),
    ...str(12, d.decisionJson),
    ...str(13, d.grantApprovalId),
    ...str(17, d.argumentsDigest),
    ...bool(18, d.toolChanged),
    ...num(20, Number(d.inputUnix)),
    ...str(21, d.inputSessionJson),
    ...str(22, d.inputGrantsJson),
    ...bool(23, d.memoHit),
  ];
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

const safe = (v: bigint): boolean => v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER);

/** The body's field number and fields when it is written directly here, else undefined. */
function bodyOf(body: Event['body']): { field: number; fields: Field[] } | undefined {
  if (body.value?.$unknown !== undefined) return undefined;
  switch (body.case) {
    case 'response':
      return DIRECT.response ? { field: RESPONSE_FIELD, fields: responseFields(body.value) } : undefined;
    case 'request':
      return DIRECT.request ? { field: REQUEST_FIELD, fields: requestFields(body.value) } : undefined;
    case 'decision':
      return DIRECT.decision && safe(body.value.inputUnix)
        ? { field: DECISION_FIELD, fields: decisionFields(body.value) }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * Encodes a batch frame (an event without the session's shared fields; see `EventBatch`) to the same protobuf
 * bytes as `encodeEvent`, written directly for the frames of every request — `request`, `decision`, `response` —
 * into one exactly sized buffer; every other event, and any with unknown fields, numbers beyond 2^53 or a schema
 * field this file does not write, goes through `encodeEvent`. Pure.
 */
export function encodeFrame(frame: Event): Uint8Array {
  const body =
    frame.$unknown !== undefined ||
    frame.sessionId !== '' ||
    frame.nodeId !== '' ||
    frame.protocol !== '' ||
    frame.identity !== undefined ||
    frame.connection !== undefined ||
    !safe(frame.seq) ||
    !safe(frame.tsMicros)
      ? undefined
      : bodyOf(frame.body);
  if (body === undefined) return encodeEvent(frame);
  const inner = body.fields;
  let innerLength = 0;
  for (const f of inner) innerLength += fieldLength(f);
  const outer: Field[] = [
    ...str(1, frame.eventId),
    ...num(3, Number(frame.seq)),
    ...num(5, Number(frame.tsMicros)),
    ...str(9, frame.policyRevision),
    ...num(10, frame.continued),
  ];
  let length = varintLength(tag(body.field, LEN)) + varintLength(innerLength) + innerLength;
  for (const f of outer) length += fieldLength(f);
  const out = Buffer.allocUnsafe(length);
  let pos = 0;
  for (const f of outer) pos = writeField(out, pos, f);
  pos = writeVarint(out, pos, tag(body.field, LEN));
  pos = writeVarint(out, pos, innerLength);
  for (const f of inner) pos = writeField(out, pos, f);
  return out;
}
