import { ALNUM, byteClass, isDigit } from '../detector.js';
import type { Detector } from '../detector.js';
import type { SpanList } from '../span-list.js';

/** Longest candidate looked at (`+49 (0) 151 2345 6789 0` is 23). */
const MAX_RUN = 28;
/** Most digit groups in one number (`+44 20 79 46 09 58` has 6). */
const MAX_GROUPS = 7;

const SEPARATOR = byteClass(' -./');

/**
 * Telephone numbers in the usual written forms:
 * - international: `+` and 8–15 digits, single separators (space, dash, dot, slash, parentheses) anywhere
 *   (`+1 555 123 4567`, `+44 20 7946 0958`, `+49 (0)30 1234567`, `+4915123456789`);
 * - North American: 10 digits as 3-3-4 with separators, optionally after `1`, area code in parentheses or not
 *   (`(555) 123-4567`, `555-123-4567`, `555.123.4567`, `1-555-123-4567`);
 * - national numbers with a trunk 0 (UK, DE, most of Europe): 9–12 digits in at least two groups, the first
 *   (0 + area code) 3–6 digits long, separated by spaces, dashes or slashes (`020 7946 0958`, `07700 900123`,
 *   `030 1234567`, `0151/23456789`, `(030) 123 4567`).
 * Not glued to letters or digits. Dates (`01.02.2024`), SSNs, card numbers and plain digit strings do not match.
 */
export const phoneDetector: Detector = {
  name: 'phone',
  replacement: Buffer.from('***-***-****'),
  needles: [],
  minDigitRun: 4,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    const g = GROUPS;
    let i = from;
    while (i < to) {
      const b = buf[i]!;
      const starts = b === 0x2b || b === 0x28 || isDigit(b);
      if (!starts || (i > from && (ALNUM[buf[i - 1]!] === 1 || buf[i - 1] === 0x2b || buf[i - 1] === 0x29))) {
        i++;
        continue;
      }
      if (b !== 0x2b && !plausibleStart(buf, b === 0x28 ? i + 1 : i, to)) {
        i++;
        while (i < to && isDigit(buf[i]!)) i++;
        continue;
      }
      g.read(buf, i, to);
      const match = g.count === 0 ? 0 : matchAt(buf, i, to, g);
      if (match > 0) {
        out.add(i, match, id);
        i = match;
      } else i = g.count > 1 ? g.start[1]! : Math.max(i + 1, g.count === 1 ? g.end[0]! : i + 1);
    }
  },
};

function groupLength(buf: Buffer, at: number, to: number): number {
  let p = at;
  while (p < to && p - at < 8 && isDigit(buf[p]!)) p++;
  return p - at;
}

/**
 * Without a '+', the first group decides: '1' then a 3-digit group (North American), 3 digits not starting with
 * 0 or 1 (an area code), or 3–6 digits starting with 0 (a trunk prefix and area code).
 */
function plausibleStart(buf: Buffer, at: number, to: number): boolean {
  const n = groupLength(buf, at, to);
  const first = buf[at];
  if (n === 1)
    return (
      first === 0x31 && at + 2 < to && SEPARATOR[buf[at + 1]!] === 1 && groupLength(buf, at + 2, to) === 3
    );
  if (n === 3 && first !== undefined && first >= 0x32) return true;
  return first === 0x30 && n >= 3 && n <= 6;
}

/** The digit groups of the phone-shaped run at one position (reused: no allocation per candidate). */
class Groups {
  readonly start = new Int32Array(MAX_RUN);
  readonly end = new Int32Array(MAX_RUN);
  /** Parenthesis depth after each group's end (before the next group). */
  readonly open = new Int8Array(MAX_RUN);
  /** Digits and '.' separators in groups 0..j. */
  readonly digits = new Int32Array(MAX_RUN);
  readonly dots = new Int32Array(MAX_RUN);
  count = 0;

  read(buf: Buffer, at: number, to: number): void {
    const limit = Math.min(to, at + MAX_RUN);
    this.count = 0;
    let p = at;
    let depth = 0;
    let dot = 0;
    let lastSep = false;
    if (buf[p] === 0x2b) p++;
    while (p < limit) {
      const c = buf[p]!;
      if (isDigit(c)) {
        const s = p;
        while (p < limit && isDigit(buf[p]!)) p++;
        this.start[this.count] = s;
        this.end[this.count] = p;
        const prev = this.count > 0 ? this.count - 1 : -1;
        this.digits[this.count] = p - s + (prev >= 0 ? this.digits[prev]! : 0);
        this.dots[this.count] = dot + (prev >= 0 ? this.dots[prev]! : 0);
        dot = 0;
        lastSep = false;
        this.count++;
        if (this.count === MAX_GROUPS) return;
        if (p < limit && buf[p] === 0x29) {
          depth--;
          p++;
        }
        this.open[this.count - 1] = depth;
        if (depth < 0) return;
        continue;
      }
      if (c === 0x28 && depth === 0) depth++;
      else if (SEPARATOR[c] === 1 && !lastSep) {
        lastSep = true;
        if (c === 0x2e) dot = 1;
      } else return;
      p++;
    }
  }
}

/** Reused by every `find` (synchronous, never re-entered): no allocation per call. */
const GROUPS = new Groups();

/** The end of the longest phone number starting at `start` made of the first k groups, or 0. */
function matchAt(buf: Buffer, start: number, to: number, g: Groups): number {
  const plus = buf[start] === 0x2b;
  for (let k = g.count; k > 0; k--) {
    if (g.open[k - 1] !== 0) continue;
    let e = g.end[k - 1]!;
    if (buf[e] === 0x29) e++;
    if (
      e < to &&
      (ALNUM[buf[e]!] === 1 || ((buf[e] === 0x2d || buf[e] === 0x2e) && isDigit(buf[e + 1] ?? 0)))
    )
      continue;
    if (isPhone(buf, g, k, plus)) return e;
  }
  return 0;
}

function isPhone(buf: Buffer, g: Groups, k: number, plus: boolean): boolean {
  const digits = g.digits[k - 1]!;
  const dots = g.dots[k - 1]! > 0;
  if (digits < 8) return false;
  const first = buf[g.start[0]!]!;
  if (plus) return digits <= 15 && first !== 0x30;
  if (k < 2) return false;
  const len0 = g.end[0]! - g.start[0]!;
  // North American 3-3-4, optionally after a 1; the area code does not start with 0 or 1.
  const o = k === 4 && len0 === 1 && first === 0x31 ? 1 : 0;
  if (
    k - o === 3 &&
    g.end[o]! - g.start[o]! === 3 &&
    g.end[o + 1]! - g.start[o + 1]! === 3 &&
    g.end[o + 2]! - g.start[o + 2]! === 4 &&
    buf[g.start[o]!]! >= 0x32
  )
    return true;
  // National numbers with a trunk 0: 0 + area code of 2–5 digits, then the subscriber number.
  return (
    first === 0x30 &&
    buf[g.start[0]! + 1] !== 0x30 &&
    digits >= 9 &&
    digits <= 12 &&
    len0 >= 3 &&
    len0 <= 6 &&
    !dots
  );
}
