import { ScalarType } from '@bufbuild/protobuf';
import type { DescMessage } from '@bufbuild/protobuf';
import { FeatureSet_FieldPresence } from '@bufbuild/protobuf/wkt';
import { getTextEncoding } from '@bufbuild/protobuf/wire';
import {
  ConnectionSchema,
  DecisionSchema,
  EventBatchSchema,
  EventSchema,
  IdentitySchema,
  RequestSchema,
  ResponseSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type {
  Connection,
  Decision,
  Event,
  Identity,
  Request,
  Response,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { fromBinaryEvent } from '../../shared/events/codec.js';

/**
 * The recorder's decoder of the records the gateway publishes most: an event or a batch of events whose bodies are
 * requests, decisions and responses. It reads the wire format straight into message objects, without the
 * reflection and default-filling of `fromBinary` (the largest part of the recorder's decode cost), and gives the
 * objects `fromBinary(EventSchema, bytes, { readUnknownFields: true })` gives (tested, byte for byte, against it).
 * Anything else — another body, a field it does not know (a newer producer: `fromBinary` keeps it as an unknown
 * field), a repeated message field, a wire type that does not match, truncated bytes — makes it give up
 * (`undefined`), and the caller decodes the record with `fromBinary`. When the schema of one of these messages has
 * changed (a field added or retyped), it turns itself off (`FAST_DECODE` false; a unit test names the list to
 * update).
 */

type Kind = 'string' | 'bytes' | 'bool' | 'uint32' | 'int64' | 'uint64' | 'strings';

/** Field number → [property, kind], as the schema has them (checked at load, see `FAST_DECODE`). */
type Spec = ReadonlyMap<number, readonly [string, Kind]>;

const IDENTITY: Spec = new Map([
  [1, ['sub', 'string']],
  [2, ['email', 'string']],
  [3, ['groups', 'strings']],
  [4, ['agent', 'bool']],
  [5, ['issuer', 'string']],
  [6, ['clientId', 'string']],
]);
const REQUEST: Spec = new Map([
  [1, ['requestId', 'uint32']],
  [2, ['kind', 'string']],
  [3, ['text', 'string']],
  [4, ['parsedJson', 'string']],
]);
const DECISION: Spec = new Map([
  [1, ['requestId', 'uint32']],
  [2, ['allow', 'bool']],
  [3, ['reasons', 'strings']],
  [4, ['approvalRequired', 'bool']],
  [5, ['approvalGroups', 'strings']],
  [6, ['approvalsNeeded', 'uint32']],
  [7, ['maskColumns', 'strings']],
  [8, ['maskDetectors', 'strings']],
  [9, ['audit', 'string']],
  [10, ['evalMicros', 'uint32']],
  [11, ['policyError', 'bool']],
  [12, ['decisionJson', 'string']],
  [13, ['grantApprovalId', 'string']],
  [17, ['argumentsDigest', 'string']],
  [18, ['toolChanged', 'bool']],
  [20, ['inputUnix', 'int64']],
  [21, ['inputSessionJson', 'string']],
  [22, ['inputGrantsJson', 'string']],
  [23, ['memoHit', 'bool']],
]);
const RESPONSE: Spec = new Map([
  [1, ['requestId', 'uint32']],
  [2, ['frame', 'string']],
  [3, ['data', 'bytes']],
  [4, ['rows', 'uint32']],
  [5, ['text', 'string']],
  [6, ['code', 'string']],
]);
/** The envelope's own fields (6 and 7 are the identity and connection messages). */
const ENVELOPE: Spec = new Map([
  [1, ['eventId', 'string']],
  [2, ['sessionId', 'string']],
  [3, ['seq', 'uint64']],
  [4, ['nodeId', 'string']],
  [5, ['tsMicros', 'int64']],
  [8, ['protocol', 'string']],
  [9, ['policyRevision', 'string']],
  [10, ['continued', 'uint32']],
]);
const BODY_REQUEST = 21;
const BODY_DECISION = 22;
const BODY_RESPONSE = 25;
const BODY_BATCH = 38;
const ENVELOPE_IDENTITY = 6;
const ENVELOPE_CONNECTION = 7;

const SCALAR_KIND: Partial<Record<ScalarType, Kind>> = {
  [ScalarType.STRING]: 'string',
  [ScalarType.BYTES]: 'bytes',
  [ScalarType.BOOL]: 'bool',
  [ScalarType.UINT32]: 'uint32',
  [ScalarType.INT64]: 'int64',
  [ScalarType.UINT64]: 'uint64',
};

/** The schema's fields of `desc` outside oneofs, as a Spec would describe them (message and map fields by name). */
function describe(desc: DescMessage): string[] {
  return desc.fields
    .filter((f) => f.oneof === undefined)
    .map((f) => {
      let kind: string;
      if (f.fieldKind === 'scalar') kind = SCALAR_KIND[f.scalar] ?? `scalar${f.scalar}`;
      else if (f.fieldKind === 'list' && f.listKind === 'scalar' && f.scalar === ScalarType.STRING)
        kind = 'strings';
      else kind = `${f.fieldKind}:${f.message?.typeName ?? ''}`;
      // A scalar with explicit presence (`optional`) would be undefined when absent: not described by a Spec.
      const explicit =
        f.fieldKind === 'scalar' && f.presence === FeatureSet_FieldPresence.EXPLICIT ? '?' : '';
      if (f.fieldKind === 'scalar' && f.longAsString) kind += ' as string';
      if (
        (f.fieldKind === 'scalar' || f.fieldKind === 'list' || f.fieldKind === 'map') &&
        !f.utf8Validation
      ) {
        kind += ' lax'; // strings read without UTF-8 validation: not what this decoder does
      }
      return `${f.number} ${f.localName} ${kind}${explicit}`;
    })
    .sort();
}

function specLines(spec: Spec): string[] {
  return [...spec].map(([n, [name, kind]]) => `${n} ${name} ${kind}`).sort();
}

function sameFields(desc: DescMessage, spec: Spec, extra: string[] = []): boolean {
  return describe(desc).join('|') === [...specLines(spec), ...extra].sort().join('|');
}

/** Whether the specs above still describe the schema; otherwise every record goes through `fromBinary`. */
export const FAST_DECODE =
  sameFields(IdentitySchema, IDENTITY) &&
  sameFields(RequestSchema, REQUEST) &&
  sameFields(DecisionSchema, DECISION) &&
  sameFields(ResponseSchema, RESPONSE) &&
  describe(ConnectionSchema).join('|') === ['1 name string', '2 protocol string', '3 tags map:'].join('|') &&
  ConnectionSchema.fields[2]?.fieldKind === 'map' &&
  ConnectionSchema.fields[2].mapKey === ScalarType.STRING &&
  ConnectionSchema.fields[2].mapKind === 'scalar' &&
  ConnectionSchema.fields[2].scalar === ScalarType.STRING &&
  sameFields(EventSchema, ENVELOPE, [
    `${ENVELOPE_IDENTITY} identity message:${IdentitySchema.typeName}`,
    `${ENVELOPE_CONNECTION} connection message:${ConnectionSchema.typeName}`,
  ]) &&
  EventSchema.fields.find((f) => f.number === BODY_REQUEST)?.message === RequestSchema &&
  EventSchema.fields.find((f) => f.number === BODY_DECISION)?.message === DecisionSchema &&
  EventSchema.fields.find((f) => f.number === BODY_RESPONSE)?.message === ResponseSchema &&
  EventSchema.fields.find((f) => f.number === BODY_BATCH)?.message === EventBatchSchema &&
  describe(EventBatchSchema).join('|') === `1 events list:${EventSchema.typeName}`;

/** Thrown inside the decoder to give up on a record (never escapes `fastDecodeEvent`). */
const GIVE_UP = new Error('fast decode: not handled');

const decodeUtf8 = getTextEncoding().decodeUtf8;
/** Strings up to this many bytes are checked for ASCII here and sliced directly; longer ones go to TextDecoder. */
const SHORT_TEXT = 96;
/** The last long text read at each length (by byte length). */
const recentTexts = new Map<number, { bytes: Buffer; text: string }>();
const RECENT_TEXTS_KEPT = 512;

declare global {
  interface Buffer {
    /** Node's latin1 slice (what `toString('latin1', start, end)` calls, without its argument checks). */
    latin1Slice(start: number, end: number): string;
  }
}

/** The reading position in one record's bytes. */
class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  /** The same bytes as a Buffer (a view), for reading ASCII text without a subarray per string. */
  readonly #text: Buffer;
  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.#text = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A varint's low 32 bits (unsigned), as `BinaryReader#uint32`. */
  uint32(end: number): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw GIVE_UP;
      const b = buf[this.pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) return result >>> 0;
    }
    throw GIVE_UP;
  }

  /** A varint as an unsigned 64-bit bigint. */
  uint64(end: number): bigint {
    const buf = this.buf;
    const start = this.pos;
    // Up to 7 bytes (49 bits) add up exactly in a double, and an 8th last byte below 16 keeps it under 2^53 (times
    // in microseconds since the epoch take 8 bytes).
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= end) throw GIVE_UP;
      const b = buf[this.pos++]!;
      if (i === 7 && b >= 16) break;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return BigInt(value);
    }
    this.pos = start;
    let big = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw GIVE_UP;
      const b = buf[this.pos++]!;
      big |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (b < 0x80) return BigInt.asUintN(64, big);
    }
    throw GIVE_UP;
  }

  /** The end of a length-delimited field's bytes (the position is at its first byte). */
  length(end: number): number {
    const len = this.uint32(end);
    const stop = this.pos + len;
    if (stop > end) throw GIVE_UP;
    return stop;
  }

  string(end: number): string {
    const stop = this.length(end);
    const buf = this.buf;
    const start = this.pos;
    this.pos = stop;
    // As `BinaryReader#string`: the same text, ASCII read directly, anything else through the same TextDecoder.
    if (stop - start <= SHORT_TEXT) {
      let ascii = true;
      for (let i = start; i < stop; i++) {
        if (buf[i]! > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) return this.#text.latin1Slice(start, stop);
    }
    // A long text seen last at this length (audit streams repeat theirs: parsed requests of prepared statements,
    // decision documents, a session's policy input) is the same string again: compared, not decoded, and its
    // JSON literal is found again by identity (see event-json.ts).
    const seen = recentTexts.get(stop - start);
    if (seen !== undefined && this.#text.compare(seen.bytes, 0, seen.bytes.length, start, stop) === 0) {
      return seen.text;
    }
    // Strict, as `fromBinary` reads proto3 strings: invalid UTF-8 throws, and the record goes to `fromBinary`,
    // which refuses it.
    const text = decodeUtf8(buf.subarray(start, stop), true);
    if (recentTexts.size >= RECENT_TEXTS_KEPT) recentTexts.clear();
    recentTexts.set(stop - start, { bytes: Buffer.from(buf.subarray(start, stop)), text });
    return text;
  }
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Reads the fields of `spec` into `target` up to `end`; any other field gives up. */
function readFields(r: Reader, end: number, spec: Spec, target: Record<string, unknown>): void {
  while (r.pos < end) {
    const tag = r.uint32(end);
    const field = spec.get(tag >>> 3);
    if (field === undefined) throw GIVE_UP;
    readValue(r, end, tag & 7, field[1], field[0], target);
  }
}

function readValue(
  r: Reader,
  end: number,
  wire: number,
  kind: Kind,
  name: string,
  target: Record<string, unknown>,
): void {
  switch (kind) {
    case 'string':
      if (wire !== WIRE_LEN) throw GIVE_UP;
      target[name] = r.string(end);
      return;
    case 'strings':
      if (wire !== WIRE_LEN) throw GIVE_UP;
      (target[name] as string[]).push(r.string(end));
      return;
    case 'bytes': {
      if (wire !== WIRE_LEN) throw GIVE_UP;
      const stop = r.length(end);
      target[name] = r.buf.subarray(r.pos, stop);
      r.pos = stop;
      return;
    }
    case 'bool':
      if (wire !== WIRE_VARINT) throw GIVE_UP;
      target[name] = r.uint64(end) !== 0n;
      return;
    case 'uint32':
      if (wire !== WIRE_VARINT) throw GIVE_UP;
      target[name] = r.uint32(end);
      return;
    case 'uint64':
      if (wire !== WIRE_VARINT) throw GIVE_UP;
      target[name] = r.uint64(end);
      return;
    case 'int64':
      if (wire !== WIRE_VARINT) throw GIVE_UP;
      target[name] = BigInt.asIntN(64, r.uint64(end));
      return;
  }
}

function newIdentity(): Identity {
  return {
    $typeName: 'gatehouse.v1.Identity',
    sub: '',
    email: '',
    groups: [],
    agent: false,
    issuer: '',
    clientId: '',
  };
}

function newConnection(): Connection {
  return { $typeName: 'gatehouse.v1.Connection', name: '', protocol: '', tags: {} };
}

function newRequest(): Request {
  return { $typeName: 'gatehouse.v1.Request', requestId: 0, kind: '', text: '', parsedJson: '' };
}

function newDecision(): Decision {
  return {
    $typeName: 'gatehouse.v1.Decision',
    requestId: 0,
    allow: false,
    reasons: [],
    approvalRequired: false,
    approvalGroups: [],
    approvalsNeeded: 0,
    maskColumns: [],
    maskDetectors: [],
    audit: '',
    evalMicros: 0,
    policyError: false,
    decisionJson: '',
    grantApprovalId: '',
    argumentsDigest: '',
    toolChanged: false,
    memoHit: false,
    inputUnix: 0n,
    inputSessionJson: '',
    inputGrantsJson: '',
  };
}

function newResponse(): Response {
  return {
    $typeName: 'gatehouse.v1.Response',
    requestId: 0,
    frame: '',
    data: new Uint8Array(0),
    rows: 0,
    text: '',
    code: '',
  };
}

function newEvent(): Event {
  return {
    $typeName: 'gatehouse.v1.Event',
    eventId: '',
    sessionId: '',
    seq: 0n,
    nodeId: '',
    tsMicros: 0n,
    protocol: '',
    policyRevision: '',
    continued: 0,
    body: { case: undefined },
  };
}

function readConnection(r: Reader, end: number): Connection {
  const c = newConnection();
  while (r.pos < end) {
    const tag = r.uint32(end);
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        readValue(r, end, wire, 'string', 'name', c);
        break;
      case 2:
        readValue(r, end, wire, 'string', 'protocol', c);
        break;
      case 3: {
        if (wire !== WIRE_LEN) throw GIVE_UP;
        const stop = r.length(end);
        const entry = { key: '', value: '' };
        readFields(r, stop, MAP_ENTRY, entry);
        c.tags[entry.key] = entry.value;
        break;
      }
      default:
        throw GIVE_UP;
    }
  }
  return c;
}
const MAP_ENTRY: Spec = new Map([
  [1, ['key', 'string']],
  [2, ['value', 'string']],
]);

/** One event envelope (`nested`: a frame of a batch, which may not hold a batch itself). */
function readEvent(r: Reader, end: number, nested: boolean): Event {
  const e = newEvent();
  const target = e as unknown as Record<string, unknown>;
  while (r.pos < end) {
    const tag = r.uint32(end);
    const number = tag >>> 3;
    const wire = tag & 7;
    const own = ENVELOPE.get(number);
    if (own !== undefined) {
      readValue(r, end, wire, own[1], own[0], target);
      continue;
    }
    if (wire !== WIRE_LEN) throw GIVE_UP;
    const stop = r.length(end);
    switch (number) {
      case ENVELOPE_IDENTITY: {
        if (e.identity !== undefined) throw GIVE_UP; // a repeated message field merges: left to fromBinary
        const id = newIdentity();
        readFields(r, stop, IDENTITY, id);
        e.identity = id;
        break;
      }
      case ENVELOPE_CONNECTION:
        if (e.connection !== undefined) throw GIVE_UP;
        e.connection = readConnection(r, stop);
        break;
      case BODY_REQUEST: {
        if (e.body.case !== undefined) throw GIVE_UP;
        const value = newRequest();
        readFields(r, stop, REQUEST, value);
        e.body = { case: 'request', value };
        break;
      }
      case BODY_DECISION: {
        if (e.body.case !== undefined) throw GIVE_UP;
        const value = newDecision();
        readFields(r, stop, DECISION, value);
        e.body = { case: 'decision', value };
        break;
      }
      case BODY_RESPONSE: {
        if (e.body.case !== undefined) throw GIVE_UP;
        const value = newResponse();
        readFields(r, stop, RESPONSE, value);
        e.body = { case: 'response', value };
        break;
      }
      case BODY_BATCH: {
        if (nested || e.body.case !== undefined) throw GIVE_UP;
        const events: Event[] = [];
        while (r.pos < stop) {
          const inner = r.uint32(stop);
          if (inner !== ((1 << 3) | WIRE_LEN)) throw GIVE_UP;
          const frameEnd = r.length(stop);
          events.push(readEvent(r, frameEnd, true));
        }
        e.body = { case: 'batch', value: { $typeName: 'gatehouse.v1.EventBatch', events } };
        break;
      }
      default:
        throw GIVE_UP;
    }
    r.pos = stop;
  }
  return e;
}

/**
 * The event `bytes` hold, as `fromBinary(EventSchema, bytes, { readUnknownFields: true })` gives it, or undefined
 * when this decoder does not handle the record (see above). Pure; never throws.
 */
export function fastDecodeEvent(bytes: Uint8Array): Event | undefined {
  if (!FAST_DECODE) return undefined;
  try {
    const r = new Reader(bytes);
    const event = readEvent(r, bytes.length, false);
    return r.pos === bytes.length ? event : undefined;
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    return undefined; // anything unexpected: fromBinary decides (and reports corrupt bytes)
  }
}

/** `fastDecodeEvent`, else `fromBinaryEvent` (which throws on corrupt bytes). */
export function decodeEventBytes(bytes: Uint8Array): Event {
  return fastDecodeEvent(bytes) ?? fromBinaryEvent(bytes);
}
