import { isUtf8 } from 'node:buffer';

/**
 * The content masker the SSH listener uses: returns `text` with every value found by the named detectors
 * (email, card, national_id, secret) replaced. Injected (services/gateway/masking implements it).
 */
export type TextMasker = (text: string, detectors: readonly string[]) => string;

export type StreamMaskerOptions = {
  /** Longest partial line held back; past it the text is masked in pieces (see `push`). */
  maxLineBytes: number;
  /** Bytes kept back after a forced cut, so a value crossing the cut is still seen whole (bounded by maxLineBytes/2). */
  carryBytes: number;
};

const NEWLINE = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Masks one output stream (stdout or stderr of one channel) that arrives in arbitrary chunks. Values split across
 * chunks are still found: complete lines are masked whole and a partial line is held back (at most
 * `maxLineBytes`). A line longer than that is cut at a blank just before its final `carryBytes` (those stay held),
 * so a value is split only when a line exceeds `maxLineBytes` and the cut lands inside it (no blank nearby, or a
 * value with blanks in it such as a spaced card number). `flush()` releases the held partial line (the caller
 * calls it after a quiet period, so prompts still appear) — a value split exactly across such a pause is masked
 * in two halves, which detectors may miss (documented limitation).
 *
 * Bytes are masked as UTF-8 text when they are valid UTF-8, else as Latin-1 (byte-exact round trip), so binary
 * output passes unchanged unless a detector matches. Pure: bytes in, bytes out.
 */
export class StreamMasker {
  readonly #mask: (text: string) => string;
  readonly #o: StreamMaskerOptions;
  #held: Buffer = Buffer.alloc(0);

  constructor(mask: TextMasker, detectors: readonly string[], opts: StreamMaskerOptions) {
    const list = [...detectors];
    this.#mask = (text) => mask(text, list);
    this.#o = {
      maxLineBytes: opts.maxLineBytes,
      carryBytes: Math.min(opts.carryBytes, opts.maxLineBytes >> 1),
    };
  }

  /** Bytes held back (a partial line). */
  get held(): number {
    return this.#held.length;
  }

  /** Masks what can be masked now; returns the bytes to send (possibly empty). */
  push(chunk: Buffer): Buffer {
    const data = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk]);
    const lastNewline = data.lastIndexOf(NEWLINE);
    let ready: Buffer;
    let rest: Buffer;
    if (lastNewline >= 0) {
      ready = data.subarray(0, lastNewline + 1);
      rest = data.subarray(lastNewline + 1);
    } else {
      ready = Buffer.alloc(0);
      rest = data;
    }
    const out: Buffer[] = [];
    if (ready.length > 0) out.push(this.#maskBytes(ready));
    while (rest.length > this.#o.maxLineBytes) {
      const cut = cutPoint(rest, rest.length - this.#o.carryBytes, this.#o.carryBytes);
      out.push(this.#maskBytes(rest.subarray(0, cut)));
      rest = rest.subarray(cut);
    }
    this.#held = Buffer.from(rest); // copy: `data` may be a large concat we do not want to keep alive
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Masks and releases the held partial line. */
  flush(): Buffer {
    if (this.#held.length === 0) return this.#held;
    const held = this.#held;
    this.#held = Buffer.alloc(0);
    return this.#maskBytes(held);
  }

  #maskBytes(bytes: Buffer): Buffer {
    if (isUtf8(bytes)) {
      const text = bytes.toString('utf8');
      const masked = this.#mask(text);
      return masked === text ? bytes : Buffer.from(masked, 'utf8');
    }
    const text = bytes.toString('latin1');
    const masked = this.#mask(text);
    // Replacement characters outside Latin-1 cannot be encoded byte for byte: use '*' for them.
    return masked === text ? bytes : Buffer.from(masked.replace(/[\u0100-\uffff]/g, '*'), 'latin1');
  }
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
