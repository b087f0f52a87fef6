import type { Detector } from './detector.js';
import { SpanList } from './span-list.js';

/** Ranges at least this long are searched for needles natively rather than in the byte loop. */
const NATIVE_SEARCH_BYTES = 1024;

/** Most needle alternations a scanner keeps (one per set of detectors still to be found). */
const MAX_NEEDLE_SEARCHES = 64;

/** A regular expression source matching `bytes` read as latin1 (one character per byte), every byte escaped. */
function latin1Pattern(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

/**
 * Runs a fixed set of detectors over byte ranges. One pass over the range first finds which detectors can match at
 * all (a needle occurs, or a long enough digit run); only those run, so a clean value costs that single pass and no
 * allocation. Short ranges take that pass as a JavaScript loop over the bytes; long ones (terminal output) as
 * native searches over one latin1 copy of the range: one memchr per one-byte needle, one regular expression for
 * all longer needles, one for digit runs. The same pass notes the lines that hold a long enough digit run: a detector
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
  /** Needles of two or more bytes with their detector's bit, for one native pass over a long range. */
  readonly #multiByte: { pattern: string; bit: number }[] = [];
  /** Detectors with a needle of two or more bytes. */
  readonly #multiBits: number;
  /**
   * Alternations over the multi-byte needles of the detectors still to be found, by their bits (latin1): once a
   * needle is seen, the search goes on for the others only. At most MAX_NEEDLE_SEARCHES (+ the full one) are kept.
   */
  readonly #searches = new Map<number, RegExp>();

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
            this.#multiByte.push({ pattern: latin1Pattern(needle), bit });
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
      // One latin1 copy of the range serves both native passes (multi-byte needles, digit runs).
      const text = this.#multiBits !== 0 || this.#digitRun !== null ? buf.toString('latin1', from, to) : '';
      if (needleBits !== 0) present |= this.#nativeNeedles(buf, from, to, text);
      if (this.#digitRun !== null) this.#noteDigitLines(text, from, this.#digitRun);
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
   * Bitmask of the needle detectors one of whose needles occurs in buf[from, to) (`text`: the range as latin1).
   * One-byte needles are searched one by one; longer ones in a single pass of one regular expression, which stops
   * at every position where some needle starts: there every needle is compared byte by byte (as the byte loop
   * does), and the search resumes one byte further, so overlapping needles are all seen.
   */
  #nativeNeedles(buf: Buffer, from: number, to: number, text: string): number {
    let found = 0;
    const range = buf.subarray(from, to);
    for (const { byte, bit } of this.#singleByte) {
      if ((found & bit) === 0 && range.indexOf(byte) !== -1) found |= bit;
    }
    const multi = this.#multiBits;
    let index = 0;
    while ((found & multi) !== multi) {
      const re = this.#search(multi & ~found);
      re.lastIndex = index;
      const m = re.exec(text);
      if (m === null) break;
      const p = from + m.index;
      found |= matching(buf, p, to, this.#byFirstByte[buf[p]!]!, found);
      index = m.index + 1;
    }
    return found;
  }

  /**
   * The alternation over the multi-byte needles of the detectors in `missing` (non-zero). Once MAX_NEEDLE_SEARCHES
   * are kept, the one over every multi-byte needle serves (it finds a superset of positions; `matching` decides).
   */
  #search(missing: number): RegExp {
    let re = this.#searches.get(missing);
    if (re !== undefined) return re;
    if (this.#searches.size >= MAX_NEEDLE_SEARCHES) {
      if (missing !== this.#multiBits) return this.#search(this.#multiBits);
    }
    const patterns = this.#multiByte.filter((n) => (n.bit & missing) !== 0).map((n) => n.pattern);
    re = new RegExp(patterns.join('|'), 'g');
    this.#searches.set(missing, re);
    return re;
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
