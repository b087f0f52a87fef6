import { ALNUM, isDigit, isUpper } from '../detector.js';
import type { Detector } from '../detector.js';
import type { SpanList } from '../span-list.js';

const DASH = Buffer.from('-');

function digitsAt(buf: Buffer, at: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (!isDigit(buf[at + k]!)) return false;
  return true;
}

function num(buf: Buffer, at: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 10 + buf[at + k]! - 48;
  return v;
}

/**
 * US Social Security numbers written ddd-dd-dddd, excluding never-issued numbers (area 000, 666, 900–999, group
 * 00, serial 0000), not glued to letters, digits or dashes.
 */
export const usSsnDetector: Detector = {
  name: 'us_ssn',
  replacement: Buffer.from('***-**-****'),
  needles: [DASH],
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    let p = buf.indexOf(DASH, from + 3);
    while (p !== -1 && p + 8 <= to) {
      const s = p - 3;
      if (
        digitsAt(buf, s, 3) &&
        digitsAt(buf, p + 1, 2) &&
        buf[p + 3] === 0x2d &&
        digitsAt(buf, p + 4, 4) &&
        (s === from || (ALNUM[buf[s - 1]!] !== 1 && buf[s - 1] !== 0x2d)) &&
        (p + 8 === to || (ALNUM[buf[p + 8]!] !== 1 && buf[p + 8] !== 0x2d))
      ) {
        const area = num(buf, s, 3);
        if (
          area !== 0 &&
          area !== 666 &&
          area < 900 &&
          num(buf, p + 1, 2) !== 0 &&
          num(buf, p + 4, 4) !== 0
        ) {
          out.add(s, p + 8, id);
          p = buf.indexOf(DASH, p + 8);
          continue;
        }
      }
      p = buf.indexOf(DASH, p + 1);
    }
  },
};

const BAD_FIRST = new Set('DFIQUV'.split('').map((c) => c.charCodeAt(0)));
const BAD_SECOND = new Set('DFIOQUV'.split('').map((c) => c.charCodeAt(0)));
const BAD_PREFIX = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);

/**
 * UK National Insurance numbers: two prefix letters (excluding the unused D F I Q U V, O second, and BG GB KN NK
 * NT TN ZZ), six digits optionally in pairs separated by spaces, a suffix letter A–D; upper case only, not glued
 * to letters or digits.
 */
export const ukNinoDetector: Detector = {
  name: 'uk_nino',
  replacement: Buffer.from('*********'),
  needles: [],
  minDigitRun: 6,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    for (let i = from; i + 9 <= to; i++) {
      const a = buf[i]!;
      if (!isUpper(a)) continue;
      const b = buf[i + 1]!;
      if (!isUpper(b) || (i > from && ALNUM[buf[i - 1]!] === 1)) continue;
      if (BAD_FIRST.has(a) || BAD_SECOND.has(b) || BAD_PREFIX.has(String.fromCharCode(a, b))) continue;
      let j = i + 2;
      let ok = true;
      for (let pair = 0; pair < 3 && ok; pair++) {
        if (buf[j] === 0x20 && j + 1 < to) j++;
        ok = j + 2 <= to && digitsAt(buf, j, 2);
        j += 2;
      }
      if (!ok) continue;
      if (buf[j] === 0x20 && j + 1 < to) j++;
      const suffix = buf[j];
      if (
        j < to &&
        suffix !== undefined &&
        suffix >= 0x41 &&
        suffix <= 0x44 &&
        (j + 1 === to || ALNUM[buf[j + 1]!] !== 1)
      ) {
        out.add(i, j + 1, id);
        i = j;
      }
    }
  },
};
