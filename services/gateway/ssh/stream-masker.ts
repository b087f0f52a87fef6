/**
 * Builds the content masker for the detectors a decision names (email, card, national_id, secret): a function that
 * returns its bytes with every detected value replaced (the same Buffer when nothing matched). Injected;
 * services/gateway/masking implements it (`maskBytes`).
 */
export type ContentMaskerFactory = (detectors: readonly string[]) => (data: Buffer) => Buffer;

export type StreamMaskerOptions = {
  /** Longest text held back (a partial line, or an open multi-line block); past it the text is masked in pieces. */
  maxLineBytes: number;
  /** Bytes kept back after a forced cut, so a value crossing the cut is still seen whole (at most maxLineBytes/2). */
  carryBytes: number;
};

const NEWLINE = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
/** A multi-line value (a PEM private key) is held from its BEGIN line until its END line. */
const BLOCK_BEGIN = Buffer.from('-----BEGIN ');
const BLOCK_END = Buffer.from('-----END ');

/**
 * Masks one output stream (stdout or stderr of one channel) that arrives in arbitrary chunks, so that values split
 * across chunks are still found. Complete lines are masked whole; a partial line is held back, and so is an open
 * `-----BEGIN …` block until its `-----END` line — both bounded by `maxLineBytes`. Text longer than that is cut
 * at a blank shortly before its final `carryBytes` (which stay held), so a value is split only when a line exceeds
 * `maxLineBytes` and the cut lands inside it. `flush()` releases a held partial line (the caller calls it after a
 * quiet period, so prompts still appear); a value split exactly across such a pause is masked in two halves,
 * which detectors may miss. Masking works on bytes, so output that is not UTF-8 passes unchanged unless a detector
 * matches. Pure: bytes in, bytes out.
 */
export class StreamMasker {
  readonly #mask: (data: Buffer) => Buffer;
  readonly #max: number;
  readonly #carry: number;
  #held: Buffer = Buffer.alloc(0);

  constructor(mask: (data: Buffer) => Buffer, opts: StreamMaskerOptions) {
    this.#mask = mask;
    this.#max = opts.maxLineBytes;
    this.#carry = Math.min(opts.carryBytes, opts.maxLineBytes >> 1);
  }

  /** Bytes held back. */
  get held(): number {
    return this.#held.length;
  }

  /** Masks what can be masked now; returns the bytes to send (possibly empty). */
  push(chunk: Buffer): Buffer {
    const data = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk]);
    let readyEnd = data.lastIndexOf(NEWLINE) + 1;
    const block = openBlockStart(data, readyEnd);
    if (block >= 0 && data.length - block <= this.#max) readyEnd = Math.min(readyEnd, block);
    const out: Buffer[] = [];
    if (readyEnd > 0) out.push(this.#maskBytes(data.subarray(0, readyEnd)));
    let rest = data.subarray(readyEnd);
    while (rest.length > this.#max) {
      const cut = cutPoint(rest, rest.length - this.#carry, this.#carry);
      out.push(this.#maskBytes(rest.subarray(0, cut)));
      rest = rest.subarray(cut);
    }
    this.#held = Buffer.from(rest); // a copy: `data` may be a large concat not worth keeping alive
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /**
   * Masks and releases what is held: on a quiet period (`final` false) only a partial line — an open BEGIN block
   * stays held until its END line, the bound or the end of the stream; at the end (`final` true) everything.
   */
  flush(final = false): Buffer {
    if (this.#held.length === 0) return this.#held;
    if (!final && openBlockStart(this.#held, this.#held.length) >= 0) return Buffer.alloc(0);
    const held = this.#held;
    this.#held = Buffer.alloc(0);
    return this.#maskBytes(held);
  }

  #maskBytes(bytes: Buffer): Buffer {
    return this.#mask(bytes);
  }
}

/** Start of the line holding the last `-----BEGIN ` before `end` that has no `-----END ` after it, else -1. */
function openBlockStart(data: Buffer, end: number): number {
  if (end <= 0) return -1;
  const begin = data.lastIndexOf(BLOCK_BEGIN, end - 1);
  if (begin < 0 || data.indexOf(BLOCK_END, begin) >= 0) return -1;
  return data.lastIndexOf(NEWLINE, begin) + 1;
}

/** The last blank in the `window` bytes before `limit` (cut after it), else `limit` itself; never 0. */
function cutPoint(data: Buffer, limit: number, window: number): number {
  const stop = Math.max(0, limit - window);
  for (let i = Math.min(limit, data.length) - 1; i > stop; i--) {
    const b = data[i];
    if (b === SPACE || b === TAB) return i + 1;
  }
  return Math.max(1, limit);
}
