/**
 * ClickHouse's `RowBinary` input format, written straight into one growing buffer: the densest body an INSERT can
 * have and the cheapest to build and to parse (no quoting, no escaping, no text numbers). Values are written in the
 * column order of the INSERT: strings and byte strings as LEB128 length + bytes (strings as UTF-8, unpaired
 * surrogates becoming U+FFFD as in a quoted literal), `UInt8`/`UInt32`/`UInt64` little-endian, `DateTime` as
 * `UInt32` unix seconds, `Array(String)` as LEB128 count + strings. Out-of-range integers throw (like `quote.ts`):
 * a row never lands with a wrapped value.
 */
import { SqlQuoteError } from '../errors.js';

const INITIAL_BYTES = 64 * 1024;
const MAX_UINT32 = 0xffff_ffff;
const MAX_UINT64 = 0xffff_ffff_ffff_ffffn;
const MAX_UINT32_BIG = 0xffff_ffffn;
/** Strings up to this many UTF-16 units are copied in JavaScript; longer ones through Buffer#write. */
const SHORT_STRING = 40;

/** Bytes of `n` as LEB128. */
function varintLength(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 0x80; v >>>= 7) bytes++;
  return bytes;
}

export class RowBinaryWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialBytes = INITIAL_BYTES) {
    this.#buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** The rows written so far (a view of the buffer; the writer must not be used after). */
  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }

  #reserve(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + bytes));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  #varint(value: number): void {
    this.#reserve(5);
    let v = value;
    while (v >= 0x80) {
      this.#buf[this.#pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.#buf[this.#pos++] = v;
  }

  uint8(value: number | boolean): void {
    const v = typeof value === 'boolean' ? Number(value) : value;
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new SqlQuoteError(`not a UInt8: ${String(v)}`);
    this.#reserve(1);
    this.#buf[this.#pos++] = v;
  }

  uint32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
      throw new SqlQuoteError(`not a UInt32: ${String(value)}`);
    }
    this.#reserve(4);
    this.#pos = this.#buf.writeUInt32LE(value, this.#pos);
  }

  uint64(value: bigint): void {
    if (value < 0n || value > MAX_UINT64) throw new SqlQuoteError(`not a UInt64: ${value}`);
    this.#reserve(8);
    if (value <= MAX_UINT32_BIG) {
      // Most values (seqs, offsets, times until 2106) fit 32 bits: no BigInt arithmetic.
      this.#buf.writeUInt32LE(Number(value), this.#pos);
      this.#buf.writeUInt32LE(0, this.#pos + 4);
      this.#pos += 8;
      return;
    }
    this.#pos = this.#buf.writeBigUInt64LE(value, this.#pos);
  }

  string(value: string): void {
    const len = value.length;
    if (len <= SHORT_STRING) {
      // Short strings (ids, names, kinds) are mostly ASCII: copied code unit by code unit, which beats a call into
      // Buffer#write; the first non-ASCII unit falls through to the general path.
      this.#reserve(1 + len);
      const buf = this.#buf;
      const at = this.#pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === len) {
        buf[this.#pos] = len;
        this.#pos = at + len;
        return;
      }
    }
    // UTF-8 is at most 3 bytes per UTF-16 unit: written once behind room for the longest length prefix, then
    // moved up when the real length takes fewer bytes (no measuring pass).
    const room = varintLength(len * 3);
    this.#reserve(5 + len * 3); // also covers #varint's own reserve, so the bytes written stay put
    const n = this.#buf.write(value, this.#pos + room, 'utf8');
    const head = varintLength(n);
    if (head < room) this.#buf.copyWithin(this.#pos + head, this.#pos + room, this.#pos + room + n);
    this.#varint(n);
    this.#pos += n;
  }

  bytes(value: Uint8Array): void {
    this.#varint(value.length);
    this.#reserve(value.length);
    this.#buf.set(value, this.#pos);
    this.#pos += value.length;
  }

  strings(values: readonly string[]): void {
    this.#varint(values.length);
    for (const v of values) this.string(v);
  }
}
