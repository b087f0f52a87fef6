import { PgProtocolError } from './errors.js';
import type { FormatCode, TransactionStatus } from './message-codes.js';
import { PayloadReader } from './payload-reader.js';

/*
 * Decoders of the server → client messages the gateway needs to inspect. Each takes the `payload` of a
 * `BackendFrame` (the bytes after the length) and throws `PgProtocolError` (08P01) when it is malformed.
 */

export interface RowField {
  readonly name: string;
  /** OID of the table the column comes from, 0 for an expression. */
  readonly tableOid: number;
  /** Attribute number of the column in that table, 0 for an expression. */
  readonly columnAttr: number;
  readonly typeOid: number;
  readonly typeSize: number;
  readonly typeMod: number;
  /** 0 text, 1 binary. In a RowDescription answering Describe(statement) this is always 0: the real formats are
   * the Bind's result formats (see `applyResultFormats`). */
  readonly format: FormatCode;
}

export function decodeRowDescription(payload: Buffer): RowField[] {
  const r = new PayloadReader(payload, 'RowDescription');
  const n = r.uint16();
  const fields = new Array<RowField>(n);
  for (let i = 0; i < n; i++) {
    const name = r.cstring();
    const tableOid = r.uint32();
    const columnAttr = r.int16();
    const typeOid = r.uint32();
    const typeSize = r.int16();
    const typeMod = r.int32();
    const format = r.formatCode();
    fields[i] = { name, tableOid, columnAttr, typeOid, typeSize, typeMod, format };
  }
  r.done();
  return fields;
}

/**
 * Returns the fields with the formats a Bind asked for: `resultFormats` empty = all text, one code = all columns,
 * else one per column (a mismatch is a protocol error, as in PostgreSQL).
 */
export function applyResultFormats(
  fields: readonly RowField[],
  resultFormats: readonly FormatCode[],
): RowField[] {
  if (resultFormats.length > 1 && resultFormats.length !== fields.length) {
    throw new PgProtocolError(`${resultFormats.length} result formats for ${fields.length} columns`);
  }
  return fields.map((f, i) => {
    const format =
      resultFormats.length === 0 ? 0 : (resultFormats.length === 1 ? resultFormats[0] : resultFormats[i])!;
    return format === f.format ? f : { ...f, format };
  });
}

/**
 * Lazy view of a DataRow payload: construction validates the framing and records where each value starts;
 * `value(i)` creates a view only when asked.
 */
export class DataRowView {
  readonly #payload: Buffer;
  /** Start of value i, or -1 for NULL; the length is at start - 4. */
  readonly #starts: Int32Array;

  constructor(payload: Buffer) {
    const r = new PayloadReader(payload, 'DataRow');
    const n = r.uint16();
    const starts = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const len = r.int32();
      if (len === -1) {
        starts[i] = -1;
        continue;
      }
      if (len < 0) r.fail(`invalid value length ${len}`);
      starts[i] = r.pos;
      r.bytes(len);
    }
    r.done();
    this.#payload = payload;
    this.#starts = starts;
  }

  get length(): number {
    return this.#starts.length;
  }

  isNull(i: number): boolean {
    return this.#starts[i] === -1;
  }

  /** View of value `i`, `null` for SQL NULL. */
  value(i: number): Buffer | null {
    const start = this.#starts[i];
    if (start === undefined) throw new RangeError(`column ${i} out of range`);
    if (start === -1) return null;
    return this.#payload.subarray(start, start + this.#payload.readInt32BE(start - 4));
  }

  /** Value `i` decoded as UTF-8 text, `null` for SQL NULL. */
  text(i: number): string | null {
    const v = this.value(i);
    return v === null ? null : v.toString('utf8');
  }
}

/** All values of a DataRow as views (`null` for SQL NULL). */
export function decodeDataRow(payload: Buffer): (Buffer | null)[] {
  const view = new DataRowView(payload);
  const out = new Array<Buffer | null>(view.length);
  for (let i = 0; i < view.length; i++) out[i] = view.value(i);
  return out;
}

/** The command tag, e.g. 'SELECT 3', 'INSERT 0 1', 'UPDATE 2', 'CREATE TABLE'. */
export function decodeCommandComplete(payload: Buffer): string {
  const r = new PayloadReader(payload, 'CommandComplete');
  const tag = r.cstring();
  r.done();
  return tag;
}

export interface CommandTag {
  /** The command words, e.g. 'SELECT', 'INSERT', 'CREATE TABLE'. */
  readonly command: string;
  /** Rows affected or returned, when the tag carries a count. */
  readonly rows: number | null;
}

/** Splits a command tag into its command and row count ('INSERT 0 5' → INSERT, 5; 'CREATE TABLE' → no count). */
export function parseCommandTag(tag: string): CommandTag {
  const m = /^(INSERT) \d+ (\d+)$|^(SELECT|UPDATE|DELETE|MERGE|FETCH|MOVE|COPY) (\d+)$/.exec(tag);
  if (m === null) return { command: tag, rows: null };
  return m[1] !== undefined ? { command: m[1], rows: Number(m[2]) } : { command: m[3]!, rows: Number(m[4]) };
}

/**
 * Fields of ErrorResponse and NoticeResponse. `severity` is the non-localized severity (V) when present, else S.
 * Unknown field types are kept in `other` by their type character.
 */
export interface NoticeFields {
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  internalPosition?: string;
  internalQuery?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  file?: string;
  line?: string;
  routine?: string;
  other?: Record<string, string>;
}

const NOTICE_FIELD_NAMES: Readonly<Record<string, Exclude<keyof NoticeFields, 'other' | 'severity'>>> = {
  C: 'code',
  M: 'message',
  D: 'detail',
  H: 'hint',
  P: 'position',
  p: 'internalPosition',
  q: 'internalQuery',
  W: 'where',
  s: 'schema',
  t: 'table',
  c: 'column',
  d: 'dataType',
  n: 'constraint',
  F: 'file',
  L: 'line',
  R: 'routine',
};

/** Decodes ErrorResponse ('E') and NoticeResponse ('N') payloads. */
export function decodeNoticeFields(payload: Buffer): NoticeFields {
  const r = new PayloadReader(payload, 'ErrorResponse/NoticeResponse');
  const out: NoticeFields = { severity: '', code: '', message: '' };
  let localized = '';
  for (;;) {
    const t = r.uint8();
    if (t === 0) break;
    const value = r.cstring();
    const key = String.fromCharCode(t);
    if (key === 'V') out.severity = value;
    else if (key === 'S') localized = value;
    else {
      const name = NOTICE_FIELD_NAMES[key];
      if (name !== undefined) out[name] = value;
      else (out.other ??= {})[key] = value;
    }
  }
  r.done();
  if (out.severity === '') out.severity = localized;
  return out;
}

export function decodeReadyForQuery(payload: Buffer): TransactionStatus {
  if (payload.length !== 1) throw new PgProtocolError('malformed ReadyForQuery message: unexpected length');
  const s = payload[0];
  if (s === 0x49) return 'I';
  if (s === 0x54) return 'T';
  if (s === 0x45) return 'E';
  throw new PgProtocolError(`malformed ReadyForQuery message: status ${s}`);
}

export function decodeParameterStatus(payload: Buffer): { name: string; value: string } {
  const r = new PayloadReader(payload, 'ParameterStatus');
  const name = r.cstring();
  const value = r.cstring();
  r.done();
  return { name, value };
}

export function decodeBackendKeyData(payload: Buffer): { processId: number; secretKey: number } {
  if (payload.length !== 8) throw new PgProtocolError('malformed BackendKeyData message: unexpected length');
  return { processId: payload.readInt32BE(0), secretKey: payload.readInt32BE(4) };
}

/** CopyInResponse ('G'), CopyOutResponse ('H') and CopyBothResponse ('W'). */
export function decodeCopyResponse(payload: Buffer): { format: FormatCode; columnFormats: FormatCode[] } {
  const r = new PayloadReader(payload, 'CopyResponse');
  const byte = r.uint8();
  if (byte !== 0 && byte !== 1) return r.fail(`unsupported copy format ${byte}`);
  const format: FormatCode = byte;
  const columnFormats = r.formatCodes();
  r.done();
  return { format, columnFormats };
}

export function decodeParameterDescription(payload: Buffer): number[] {
  const r = new PayloadReader(payload, 'ParameterDescription');
  const n = r.uint16();
  const oids = new Array<number>(n);
  for (let i = 0; i < n; i++) oids[i] = r.uint32();
  r.done();
  return oids;
}

/** Authentication requests ('R'). SASL data are views of the payload. */
export type AuthenticationRequest =
  | { readonly kind: 'ok' }
  | { readonly kind: 'cleartext-password' }
  | { readonly kind: 'md5-password'; readonly salt: Buffer }
  | { readonly kind: 'sasl'; readonly mechanisms: readonly string[] }
  | { readonly kind: 'sasl-continue'; readonly data: Buffer }
  | { readonly kind: 'sasl-final'; readonly data: Buffer }
  | { readonly kind: 'unsupported'; readonly method: number };

export function decodeAuthentication(payload: Buffer): AuthenticationRequest {
  const r = new PayloadReader(payload, 'Authentication');
  const method = r.int32();
  switch (method) {
    case 0:
      r.done();
      return { kind: 'ok' };
    case 3:
      r.done();
      return { kind: 'cleartext-password' };
    case 5: {
      const salt = r.bytes(4);
      r.done();
      return { kind: 'md5-password', salt };
    }
    case 10: {
      const mechanisms: string[] = [];
      for (;;) {
        if (r.remaining === 0) r.fail('missing terminator');
        if (payload[r.pos] === 0) {
          r.pos++;
          break;
        }
        mechanisms.push(r.cstring());
      }
      r.done();
      return { kind: 'sasl', mechanisms };
    }
    case 11:
      return { kind: 'sasl-continue', data: r.rest() };
    case 12:
      return { kind: 'sasl-final', data: r.rest() };
    default:
      return { kind: 'unsupported', method };
  }
}
