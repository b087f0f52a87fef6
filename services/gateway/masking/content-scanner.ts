import type { Detector } from './detector.js';
import type { SpanList } from './span-list.js';

/**
 * Runs a fixed set of detectors over byte ranges. One JavaScript pass over the range first finds which detectors
 * can match at all (a needle occurs, or a long enough digit run); only those run, so a clean value costs that
 * single pass and no allocation.
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

  constructor(detectors: readonly Detector[]) {
    if (detectors.length > 30) throw new RangeError('at most 30 detectors');
    for (const d of detectors) {
      for (const n of d.needles)
        if (n.length === 0 || (n[0]! >= 48 && n[0]! <= 57)) throw new RangeError('bad needle');
    }
    this.detectors = detectors;
    let always = 0;
    let needleBits = 0;
    detectors.forEach((d, k) => {
      const bit = 1 << k;
      if (d.needles.length > 0) {
        needleBits |= bit;
        for (const needle of d.needles) {
          (this.#byFirstByte[needle[0]!] ??= []).push({ needle, bit });
          this.#isFirstByte[needle[0]!] = 1;
        }
      } else if (d.minDigitRun !== undefined) {
        this.#digitRuns.push({ min: d.minDigitRun, bit });
      } else {
        always |= bit;
      }
    });
    this.#always = always;
    this.#needleBits = needleBits;
  }

  /** Bitmask of the detectors that may match in buf[from, to). */
  candidates(buf: Buffer, from: number, to: number): number {
    let present = this.#always;
    let run = 0;
    let maxRun = 0;
    let afterDigit = false;
    const table = this.#byFirstByte;
    const first = this.#isFirstByte;
    const needleBits = this.#needleBits;
    for (let p = from; p < to; p++) {
      const b = buf[p]!;
      if (b >= 48 && b <= 57) {
        run++;
        if (run > maxRun) maxRun = run;
        afterDigit = true;
        continue;
      }
      if (!((b === 32 || b === 45) && afterDigit)) run = 0;
      afterDigit = false;
      if (first[b] === 1 && (present & needleBits) !== needleBits)
        present |= matching(buf, p, to, table[b]!, present);
    }
    for (const r of this.#digitRuns) if (maxRun >= r.min) present |= r.bit;
    return present;
  }

  /** Resets `spans` and fills it with the matches in buf[from, to). */
  scan(buf: Buffer, from: number, to: number, spans: SpanList): void {
    spans.reset();
    const present = this.candidates(buf, from, to);
    if (present === 0) return;
    for (let k = 0; k < this.detectors.length; k++) {
      if ((present & (1 << k)) !== 0) this.detectors[k]!.find(buf, from, to, spans, k);
    }
  }
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
