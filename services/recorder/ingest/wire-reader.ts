import { getTextEncoding } from '@bufbuild/protobuf/wire';

/**
 * Protobuf wire reading for the recorder's fast decoder (`fast-decode.ts`): a position in one record's bytes, and
 * fields read by a `Spec` into plain objects. Anything it does not handle throws `GIVE_UP`.
 */

export type Kind = 'string' | 'bytes' | 'bool' | 'uint32' | 'int64' | 'uint64' | 'strings';

/** Field number → [property, kind], as the schema has them (checked at load, see `FAST_DECODE`). */
export type Spec = ReadonlyMap<number, readonly [string, Kind]>;

/** Thrown inside the decoder to give up on a record (never escapes `fastDecodeEvent`). */
export const GIVE_UP = new Error('fast decode: not handled');

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
export class Reader {
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
export const WIRE_LEN = 2;

/** Reads the fields of `spec` into `target` up to `end`; any other field gives up. */
export function readFields(r: Reader, end: number, spec: Spec, target: Record<string, unknown>): void {
  while (r.pos < end) {
    const tag = r.uint32(end);
    const field = spec.get(tag >>> 3);
    if (field === undefined) throw GIVE_UP;
    readValue(r, end, tag & 7, field[1], field[0], target);
  }
}

export function readValue(
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
