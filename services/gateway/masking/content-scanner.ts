import type { Detector } from './detector.js';
import { SpanList } from './span-list.js';

/** Ranges at least this long are searched for needles natively rather than in the byte loop. */
const NATIVE_SEARCH_BYTES = 1024;

/**
 * Runs a fixed set of detectors over byte ranges. One pass over the range first finds which detectors can match at
 * all (a needle occurs, or a long enough digit run); only those run, so a clean value costs that single pass and no
 * allocation. Short ranges take that pass as a JavaScript loop over the bytes; long ones (terminal output) as
 * native searches: one memchr per one-byte needle, one regular expression for digit runs (over a latin1 copy of
 * the range), and for all longer needles one loop over every other pair of bytes against a table of the pairs
 * that start them. The same pass notes the lines that hold a long enough digit run: a detector
 * known only by its digit runs (phone, card, national ids without a needle) runs on those lines alone — its
 * matches never contain a newline, and a newline is a boundary to it exactly as the end of the range is — so
 * large output with a few numbers in it is not scanned again by every digit detector.
 */
export class ContentScanner {
  readonly detectors: readonly Detector[];
  /** For each byte value, the needles starting with it and the bit of their detector. */
  readonly #byFirstByte: ({ needle: Buffer; bit: number }[] | undefined)[] = [];
  /** 1 where a needle starts with that byte (a typed array: the hot loop reads it for every byte). */
  readonly #isFirstByte = new Uint8Array(256);
  readonly #always: number;
  readonly #digitRuns: { min: number; bit: number }[] = [];
  readonly #needleBits: number;
  /** Shortest digit run any detector needs (Infinity: none). */
  readonly #minDigitRun: number;
  /** A digit run of at least #minDigitRun (digits, a single space or dash between two of them); null: none needed. */
  readonly #digitRun: RegExp | null;
  /** Lines of the last pass holding a digit run of at least #minDigitRun (the third value: its longest run). */
  readonly #lines = new SpanList();
  /** Needles of one byte, searched natively one by one (memchr: cheap, and the search stops at the first hit). */
  readonly #singleByte: { byte: number; bit: number }[] = [];
  /** Detectors with a needle of two or more bytes. */
  readonly #multiBits: number;
  /**
   * 1 at `pairWord(first, second)` for the byte pairs a multi-byte needle starts with: its bytes 0-1 and, when it has
   * three or more, 1-2 (see #nativeNeedles).
   */
  readonly #pairs = new Uint8Array(65536);
  /** 2 when every multi-byte needle has three bytes or more (every other pair is read), else 1. */
  readonly #pairStep: number;

  constructor(detectors: readonly Detector[]) {
    if (detectors.length > 30) throw new RangeError('at most 30 detectors');
    for (const d of detectors) {
      for (const n of d.needles)
        if (n.length === 0 || (n[0]! >= 48 && n[0]! <= 57)) throw new RangeError('bad needle');
    }
    this.detectors = detectors;
    let always = 0;
    let needleBits = 0;
    let multiBits = 0;
    let shortestMulti = Infinity;
    detectors.forEach((d, k) => {
      const bit = 1 << k;
      if (d.needles.length > 0) {
        needleBits |= bit;
        for (const needle of d.needles) {
          (this.#byFirstByte[needle[0]!] ??= []).push({ needle, bit });
          this.#isFirstByte[needle[0]!] = 1;
          if (needle.length === 1) {
            this.#singleByte.push({ byte: needle[0]!, bit });
          } else {
            multiBits |= bit;
            shortestMulti = Math.min(shortestMulti, needle.length);
            this.#pairs[pairWord(needle[0]!, needle[1]!)] = 1;
            if (needle.length >= 3) this.#pairs[pairWord(needle[1]!, needle[2]!)] = 1;
          }
        }
      } else if (d.minDigitRun !== undefined) {
        this.#digitRuns.push({ min: d.minDigitRun, bit });
      } else {
        always |= bit;
      }
    });
    this.#always = always;
    this.#needleBits = needleBits;
    this.#multiBits = multiBits;
    this.#pairStep = shortestMulti >= 3 ? 2 : 1;
    this.#minDigitRun = Math.min(...this.#digitRuns.map((r) => r.min));
    this.#digitRun =
      this.#digitRuns.length === 0 ? null : new RegExp(`[0-9](?:[ -]?[0-9]){${this.#minDigitRun - 1}}`, 'g');
  }

  /** Bitmask of the detectors that may match in buf[from, to). */
  candidates(buf: Buffer, from: number, to: number): number {
    let present = this.#always;
    let run = 0;
    let lineMax = 0;
    let lineStart = from;
    let afterDigit = false;
    const table = this.#byFirstByte;
    const first = this.#isFirstByte;
    const needleBits = this.#needleBits;
    const minRun = this.#minDigitRun;
    // Long ranges look for needles with the native search (one per needle) instead of byte by byte.
    const native = to - from >= NATIVE_SEARCH_BYTES;
    this.#lines.reset();
    if (native) {
      if (needleBits !== 0) present |= this.#nativeNeedles(buf, from, to);
      if (this.#digitRun !== null)
        this.#noteDigitLines(buf.toString('latin1', from, to), from, this.#digitRun);
      return present | this.#digitBits();
    }
    for (let p = from; p < to; p++) {
      const b = buf[p]!;
      if (b >= 48 && b <= 57) {
        run++;
        if (run > lineMax) lineMax = run;
        afterDigit = true;
        continue;
      }
      if (b === 10) {
        if (lineMax >= minRun) this.#lines.add(lineStart, p, lineMax);
        lineStart = p + 1;
        lineMax = 0;
      }
      if (!((b === 32 || b === 45) && afterDigit)) run = 0;
      afterDigit = false;
      if (first[b] === 1 && (present & needleBits) !== needleBits)
        present |= matching(buf, p, to, table[b]!, present);
    }
    if (lineMax >= minRun) this.#lines.add(lineStart, to, lineMax);
    return present | this.#digitBits();
  }

  /** The digit-run detectors whose run length some noted line reaches. */
  #digitBits(): number {
    let maxRun = 0;
    for (let i = 0; i < this.#lines.length; i++) maxRun = Math.max(maxRun, this.#lines.detector(i));
    let bits = 0;
    for (const r of this.#digitRuns) if (maxRun >= r.min) bits |= r.bit;
    return bits;
  }

  /**
   * Notes the lines of the range (`text`: buf[from, to) as latin1, one character per byte, so offsets are byte
   * offsets) holding a digit run of at least #minDigitRun, as the byte loop does, but found by a regular expression:
   * the engine's native scan instead of a JavaScript loop over every byte. Only a line with such a run is read
   * again, from the run on, for its longest run.
   */
  #noteDigitLines(text: string, from: number, re: RegExp): void {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const start = text.lastIndexOf('\n', m.index) + 1;
      const newline = text.indexOf('\n', m.index);
      const end = newline === -1 ? text.length : newline;
      this.#lines.add(from + start, from + end, longestRun(text, m.index, end));
      if (newline === -1) break;
      re.lastIndex = newline + 1;
    }
  }

  /**
   * Bitmask of the needle detectors one of whose needles occurs in buf[from, to). One-byte needles are searched
   * one by one (memchr). Longer ones in one loop over byte pairs: a needle of three bytes or more starting at s
   * holds the pairs at s and s + 1, one of which starts at an odd distance from `from`, so only those pairs are
   * read (every pair when some needle has two bytes); where the table knows the pair, every needle starting at
   * either position is compared byte by byte (as the byte loop does). Overlapping needles are all seen. Cheaper
   * than one regular expression over all needles (~15 ms per MB of base64 output; this loop ~1).
   */
  #nativeNeedles(buf: Buffer, from: number, to: number): number {
    let found = 0;
    const range = buf.subarray(from, to);
    for (const { byte, bit } of this.#singleByte) {
      if ((found & bit) === 0 && range.indexOf(byte) !== -1) found |= bit;
    }
    const multi = this.#multiBits;
    if (multi === 0) return found;
    const pairs = this.#pairs;
    const table = this.#byFirstByte;
    if (this.#pairStep === 1) {
      for (let s = from; s + 1 < to; s++) {
        if (pairs[pairWord(buf[s]!, buf[s + 1]!)] === 0) continue;
        found |= matching(buf, s, to, table[buf[s]!]!, found);
        if ((found & multi) === multi) break;
      }
      return found;
    }
    // Every other pair, read as aligned 16-bit words (in the machine's byte order, as pairWord builds them).
    const base = buf.byteOffset;
    const first = from + ((base + from) & 1);
    const words = new Uint16Array(buf.buffer, base + first, Math.max(0, to - first) >> 1);
    for (let w = 0; w < words.length; w++) {
      if (pairs[words[w]!] === 0) continue;
      const q = first + 2 * w;
      for (let s = q - 1; s <= q; s++) {
        const list = s >= from ? table[buf[s]!] : undefined;
        if (list !== undefined) found |= matching(buf, s, to, list, found);
      }
      if ((found & multi) === multi) break;
    }
    return found;
  }

  /** Resets `spans` and fills it with the matches in buf[from, to). */
  scan(buf: Buffer, from: number, to: number, spans: SpanList): void {
    spans.reset();
    const present = this.candidates(buf, from, to);
    if (present === 0) return;
    for (let k = 0; k < this.detectors.length; k++) {
      if ((present & (1 << k)) === 0) continue;
      const d = this.detectors[k]!;
      if (d.needles.length === 0 && d.minDigitRun !== undefined)
        this.#findInLines(d, d.minDigitRun, buf, spans, k);
      else d.find(buf, from, to, spans, k);
    }
  }

  /** Runs a digit-run detector on the noted lines with a run of at least `min` (consecutive lines together). */
  #findInLines(d: Detector, min: number, buf: Buffer, spans: SpanList, k: number): void {
    const lines = this.#lines;
    let start = -1;
    let end = -1;
    for (let i = 0; i < lines.length; i++) {
      if (lines.detector(i) < min) continue;
      if (start >= 0 && lines.start(i) === end + 1) {
        end = lines.end(i);
        continue;
      }
      if (start >= 0) d.find(buf, start, end, spans, k);
      start = lines.start(i);
      end = lines.end(i);
    }
    if (start >= 0) d.find(buf, start, end, spans, k);
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The 16-bit word that the bytes `first`, `second` read as, in this order, from a Uint16Array. */
function pairWord(first: number, second: number): number {
  return LITTLE_ENDIAN ? first | (second << 8) : (first << 8) | second;
}

/** The longest digit run in text[from, to), counted as the byte loop counts it. */
function longestRun(text: string, from: number, to: number): number {
  let run = 0;
  let longest = 0;
  let afterDigit = false;
  for (let p = from; p < to; p++) {
    const c = text.charCodeAt(p);
    if (c >= 48 && c <= 57) {
      run++;
      if (run > longest) longest = run;
      afterDigit = true;
      continue;
    }
    if (!((c === 32 || c === 45) && afterDigit)) run = 0;
    afterDigit = false;
  }
  return longest;
}

function matching(
  buf: Buffer,
  p: number,
  to: number,
  list: { needle: Buffer; bit: number }[],
  present: number,
): number {
  let bits = 0;
  for (const { needle, bit } of list) {
    if ((present & bit) !== 0 || p + needle.length > to) continue;
    let q = 1;
    while (q < needle.length && buf[p + q] === needle[q]) q++;
    if (q === needle.length) bits |= bit;
  }
  return bits;
}
