import { PgDecodeError } from '../errors.js';

/**
 * A pure decoder for the PostgreSQL backend messages a gateway records (protocol 3.0): bytes in, typed messages
 * out. Only what a transcript needs is decoded in detail; other messages are returned as `other` with their type.
 */

export type PgField = {
  name: string;
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  /** 0 = text, 1 = binary. */
  format: number;
};

export type PgNotice = {
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  /** Every field by its one-letter code (S, V, C, M, D, H, P, …). */
  fields: Readonly<Record<string, string>>;
};

export type PgMessage =
  | { type: 'row_description'; fields: PgField[] }
  | { type: 'data_row'; values: (Uint8Array | null)[] }
  | { type: 'command_complete'; tag: string }
  | { type: 'error'; notice: PgNotice }
  | { type: 'notice'; notice: PgNotice }
  | { type: 'ready'; status: string }
  | { type: 'empty_query' }
  | { type: 'parameter_status'; name: string; value: string }
  | { type: 'other'; code: string; length: number };

/** Largest single message accepted (a recorded frame cannot be bigger than what the gateway allows). */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: false });

class Reader {
  readonly #b: Uint8Array;
  readonly #v: DataView;
  #o: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.#b = bytes;
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#o = start;
    this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#o;
  }

  #need(n: number): void {
    if (this.#o + n > this.#end)
      throw new PgDecodeError(`message truncated: need ${n} bytes, ${this.remaining} left`);
  }

  int16(): number {
    this.#need(2);
    const v = this.#v.getInt16(this.#o);
    this.#o += 2;
    return v;
  }

  int32(): number {
    this.#need(4);
    const v = this.#v.getInt32(this.#o);
    this.#o += 4;
    return v;
  }

  byte(): number {
    this.#need(1);
    return this.#b[this.#o++]!;
  }

  bytes(n: number): Uint8Array {
    this.#need(n);
    const v = this.#b.subarray(this.#o, this.#o + n);
    this.#o += n;
    return v;
  }

  cstring(): string {
    const nul = this.#b.indexOf(0, this.#o);
    if (nul < 0 || nul >= this.#end) throw new PgDecodeError('string without terminating NUL');
    const s = utf8.decode(this.#b.subarray(this.#o, nul));
    this.#o = nul + 1;
    return s;
  }
}

function decodeNotice(r: Reader): PgNotice {
  const fields: Record<string, string> = {};
  for (;;) {
    const code = r.byte();
    if (code === 0) break;
    fields[String.fromCharCode(code)] = r.cstring();
  }
  const notice: PgNotice = {
    severity: fields.V ?? fields.S ?? '',
    code: fields.C ?? '',
    message: fields.M ?? '',
    fields,
  };
  if (fields.D !== undefined) notice.detail = fields.D;
  if (fields.H !== undefined) notice.hint = fields.H;
  return notice;
}

function decodeBody(code: string, r: Reader, length: number): PgMessage {
  switch (code) {
    case 'T': {
      const n = r.int16();
      const fields: PgField[] = [];
      for (let i = 0; i < n; i++) {
        fields.push({
          name: r.cstring(),
          tableOid: r.int32(),
          columnAttr: r.int16(),
          typeOid: r.int32(),
          typeSize: r.int16(),
          typeModifier: r.int32(),
          format: r.int16(),
        });
      }
      return { type: 'row_description', fields };
    }
    case 'D': {
      const n = r.int16();
      const values: (Uint8Array | null)[] = [];
      for (let i = 0; i < n; i++) {
        const len = r.int32();
        if (len < -1) throw new PgDecodeError(`negative column length ${len}`);
        values.push(len === -1 ? null : r.bytes(len));
      }
      return { type: 'data_row', values };
    }
    case 'C':
      return { type: 'command_complete', tag: r.cstring() };
    case 'E':
      return { type: 'error', notice: decodeNotice(r) };
    case 'N':
      return { type: 'notice', notice: decodeNotice(r) };
    case 'Z':
      return { type: 'ready', status: String.fromCharCode(r.byte()) };
    case 'I':
      return { type: 'empty_query' };
    case 'S':
      return { type: 'parameter_status', name: r.cstring(), value: r.cstring() };
    default:
      return { type: 'other', code, length };
  }
}

const DECODED = new Set(['T', 'D', 'C', 'E', 'N', 'Z', 'I', 'S']);

/**
 * Decodes a sequence of complete backend messages (type byte, int32 length including itself, body). Throws
 * `PgDecodeError` on a malformed or truncated message; the bytes are never partially interpreted silently.
 */
export function decodeBackendMessages(bytes: Uint8Array): PgMessage[] {
  const out: PgMessage[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 5)
      throw new PgDecodeError(`trailing ${bytes.length - offset} bytes are not a message`);
    const code = String.fromCharCode(bytes[offset]!);
    const length = view.getInt32(offset + 1);
    if (length < 4 || length > MAX_MESSAGE_BYTES)
      throw new PgDecodeError(`message '${code}' has invalid length ${length}`);
    const end = offset + 1 + length;
    if (end > bytes.length) throw new PgDecodeError(`message '${code}' truncated: ${length} bytes announced`);
    const r = new Reader(bytes, offset + 5, end);
    out.push(decodeBody(code, r, length));
    // Unparsed bytes inside a decoded message mean the message is not what its type says.
    if (r.remaining !== 0 && DECODED.has(code)) {
      throw new PgDecodeError(`message '${code}' has ${r.remaining} unexpected trailing bytes`);
    }
    offset = end;
  }
  return out;
}
