import { BackendCode } from './message-codes.js';
import type { FormatCode, TransactionStatus } from './message-codes.js';

/*
 * Pure builders of server → client messages. Each returns a new Buffer holding exactly one message (type byte,
 * int32 length, payload). Strings are written as UTF-8; a NUL character inside a string would end it early on the
 * wire, so NULs are removed from every string field.
 */

/** Severities of ErrorResponse (ERROR, FATAL, PANIC) and NoticeResponse (the others). */
export type Severity = 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';

export interface ErrorFieldsInput {
  readonly severity: Severity;
  /** SQLSTATE: five characters of 0-9 and A-Z. */
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character position in the query text. */
  readonly position?: number;
}

export interface RowFieldInput {
  readonly name: string;
  readonly tableOid?: number;
  readonly columnAttr?: number;
  /** Default 25 (text). */
  readonly typeOid?: number;
  /** Default -1 (variable length). */
  readonly typeSize?: number;
  /** Default -1. */
  readonly typeMod?: number;
  /** Default 0 (text). */
  readonly format?: FormatCode;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

function clean(s: string): string {
  return s.includes('\0') ? s.replaceAll('\0', '') : s;
}

function header(code: number, payloadLength: number): Buffer {
  const buf = Buffer.allocUnsafe(5 + payloadLength);
  buf[0] = code;
  buf.writeInt32BE(payloadLength + 4, 1);
  return buf;
}

function writeCString(buf: Buffer, pos: number, s: string): number {
  const n = buf.write(s, pos, 'utf8');
  buf[pos + n] = 0;
  return pos + n + 1;
}

function fixed(code: number): Buffer {
  return header(code, 0);
}

function authentication(kind: number): Buffer {
  const buf = header(BackendCode.Authentication, 4);
  buf.writeInt32BE(kind, 5);
  return buf;
}

export function authenticationOk(): Buffer {
  return authentication(0);
}

export function authenticationCleartextPassword(): Buffer {
  return authentication(3);
}

export function parameterStatus(name: string, value: string): Buffer {
  const n = clean(name);
  const v = clean(value);
  const buf = header(BackendCode.ParameterStatus, Buffer.byteLength(n) + Buffer.byteLength(v) + 2);
  writeCString(buf, writeCString(buf, 5, n), v);
  return buf;
}

export function backendKeyData(processId: number, secretKey: number): Buffer {
  const buf = header(BackendCode.BackendKeyData, 8);
  buf.writeInt32BE(processId | 0, 5);
  buf.writeInt32BE(secretKey | 0, 9);
  return buf;
}

export function readyForQuery(status: TransactionStatus): Buffer {
  const buf = header(BackendCode.ReadyForQuery, 1);
  buf[5] = status.charCodeAt(0);
  return buf;
}

function noticeLike(code: number, f: ErrorFieldsInput): Buffer {
  if (!SQLSTATE.test(f.code)) throw new RangeError('SQLSTATE must be five characters 0-9A-Z');
  const fields: [number, string][] = [
    [0x53, f.severity], // S (localized severity)
    [0x56, f.severity], // V (non-localized severity)
    [0x43, f.code], // C
    [0x4d, clean(f.message)], // M
  ];
  if (f.detail !== undefined) fields.push([0x44, clean(f.detail)]); // D
  if (f.hint !== undefined) fields.push([0x48, clean(f.hint)]); // H
  if (f.position !== undefined) fields.push([0x50, String(Math.trunc(f.position))]); // P
  let size = 1;
  for (const [, v] of fields) size += 2 + Buffer.byteLength(v);
  const buf = header(code, size);
  let pos = 5;
  for (const [t, v] of fields) {
    buf[pos++] = t;
    pos = writeCString(buf, pos, v);
  }
  buf[pos] = 0;
  return buf;
}

export function errorResponse(fields: ErrorFieldsInput): Buffer {
  return noticeLike(BackendCode.ErrorResponse, fields);
}

export function noticeResponse(fields: ErrorFieldsInput): Buffer {
  return noticeLike(BackendCode.NoticeResponse, fields);
}

/** `tag` such as 'SELECT 3', 'INSERT 0 1', 'BEGIN'. */
export function commandComplete(tag: string): Buffer {
  const t = clean(tag);
  const buf = header(BackendCode.CommandComplete, Buffer.byteLength(t) + 1);
  writeCString(buf, 5, t);
  return buf;
}

export function emptyQueryResponse(): Buffer {
  return fixed(BackendCode.EmptyQueryResponse);
}

export function rowDescription(fields: readonly RowFieldInput[]): Buffer {
  if (fields.length > 0xffff) throw new RangeError('too many fields');
  const names = fields.map((f) => clean(f.name));
  let size = 2;
  for (const n of names) size += Buffer.byteLength(n) + 1 + 18;
  const buf = header(BackendCode.RowDescription, size);
  buf.writeUInt16BE(fields.length, 5);
  let pos = 7;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    pos = writeCString(buf, pos, names[i]!);
    buf.writeUInt32BE(f.tableOid ?? 0, pos);
    buf.writeInt16BE(f.columnAttr ?? 0, pos + 4);
    buf.writeUInt32BE(f.typeOid ?? 25, pos + 6);
    buf.writeInt16BE(f.typeSize ?? -1, pos + 10);
    buf.writeInt32BE(f.typeMod ?? -1, pos + 12);
    buf.writeInt16BE(f.format ?? 0, pos + 16);
    pos += 18;
  }
  return buf;
}

/** One row; strings are written as UTF-8 text values, `null` as SQL NULL. */
export function dataRow(values: readonly (Buffer | string | null)[]): Buffer {
  if (values.length > 0xffff) throw new RangeError('too many values');
  let size = 2;
  for (const v of values)
    size += 4 + (v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  const buf = header(BackendCode.DataRow, size);
  buf.writeUInt16BE(values.length, 5);
  let pos = 7;
  for (const v of values) {
    if (v === null) {
      buf.writeInt32BE(-1, pos);
      pos += 4;
    } else if (typeof v === 'string') {
      const n = buf.write(v, pos + 4, 'utf8');
      buf.writeInt32BE(n, pos);
      pos += 4 + n;
    } else {
      buf.writeInt32BE(v.length, pos);
      v.copy(buf, pos + 4);
      pos += 4 + v.length;
    }
  }
  return buf;
}

export function parseComplete(): Buffer {
  return fixed(BackendCode.ParseComplete);
}

export function bindComplete(): Buffer {
  return fixed(BackendCode.BindComplete);
}

export function closeComplete(): Buffer {
  return fixed(BackendCode.CloseComplete);
}

export function noData(): Buffer {
  return fixed(BackendCode.NoData);
}

export function portalSuspended(): Buffer {
  return fixed(BackendCode.PortalSuspended);
}

export function parameterDescription(typeOids: readonly number[]): Buffer {
  if (typeOids.length > 0xffff) throw new RangeError('too many parameters');
  const buf = header(BackendCode.ParameterDescription, 2 + 4 * typeOids.length);
  buf.writeUInt16BE(typeOids.length, 5);
  for (let i = 0; i < typeOids.length; i++) buf.writeUInt32BE(typeOids[i]!, 7 + 4 * i);
  return buf;
}

/**
 * NegotiateProtocolVersion: the newest minor version of protocol 3 the server supports and the `_pq_.` options
 * of the StartupMessage it does not recognise.
 */
export function negotiateProtocolVersion(newestMinor: number, unsupportedOptions: readonly string[]): Buffer {
  const opts = unsupportedOptions.map(clean);
  let size = 8;
  for (const o of opts) size += Buffer.byteLength(o) + 1;
  const buf = header(BackendCode.NegotiateProtocolVersion, size);
  buf.writeInt32BE(newestMinor, 5);
  buf.writeInt32BE(opts.length, 9);
  let pos = 13;
  for (const o of opts) pos = writeCString(buf, pos, o);
  return buf;
}

/** The single-byte answer to SSLRequest: 'S' (go ahead with TLS) or 'N' (continue in plaintext). */
export function sslResponse(accept: boolean): Buffer {
  return Buffer.from([accept ? 0x53 : 0x4e]);
}

/** The single-byte answer to GSSENCRequest: the gateway does not offer GSSAPI encryption. */
export function gssEncResponse(): Buffer {
  return Buffer.from([0x4e]);
}
