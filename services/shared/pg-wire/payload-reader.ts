import { PgProtocolError } from './errors.js';
import type { FormatCode } from './message-codes.js';

/**
 * Bounds-checked cursor over one message payload. Every read that would pass the end, and every string without
 * its NUL terminator, throws `PgProtocolError` (08P01) naming `what` (the message type), never the bytes.
 */
export class PayloadReader {
  readonly buf: Buffer;
  readonly what: string;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, what: string, start = 0, end = buf.length) {
    this.buf = buf;
    this.what = what;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string): never {
    throw new PgProtocolError(`malformed ${this.what} message: ${reason}`);
  }

  #need(n: number): void {
    if (this.end - this.pos < n) this.fail('truncated');
  }

  uint8(): number {
    this.#need(1);
    return this.buf[this.pos++]!;
  }

  int16(): number {
    this.#need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.#need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.#need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.#need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** NUL-terminated UTF-8 string. */
  cstring(): string {
    if (this.pos < this.end && this.buf[this.pos] === 0) {
      this.pos++;
      return ''; // the unnamed portal or statement of nearly every Bind, Describe and Execute: no search, no decode
    }
    const nul = this.buf.indexOf(0, this.pos);
    if (nul === -1 || nul >= this.end) this.fail('unterminated string');
    const s = this.buf.toString('utf8', this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  /** View of the next `n` bytes. */
  bytes(n: number): Buffer {
    this.#need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** View of everything left. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }

  /** uint16 count followed by that many format codes (each 0 or 1). */
  formatCodes(): FormatCode[] {
    const n = this.uint16();
    this.#need(n * 2);
    const out = new Array<FormatCode>(n);
    for (let i = 0; i < n; i++) out[i] = this.formatCode();
    return out;
  }

  formatCode(): FormatCode {
    const v = this.int16();
    if (v !== 0 && v !== 1) this.fail(`unsupported format code ${v}`);
    return v;
  }

  /** uint16 count followed by values, each an int32 length (-1 = NULL) and that many bytes. */
  values(): (Buffer | null)[] {
    const n = this.uint16();
    const out = new Array<Buffer | null>(n);
    for (let i = 0; i < n; i++) {
      const len = this.int32();
      if (len === -1) out[i] = null;
      else if (len < 0) this.fail(`invalid value length ${len}`);
      else out[i] = this.bytes(len);
    }
    return out;
  }

  /** Asserts the payload is fully consumed (PostgreSQL rejects trailing bytes the same way). */
  done(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected trailing bytes`);
  }
}
