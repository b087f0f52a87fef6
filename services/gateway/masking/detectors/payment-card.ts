import { ALNUM, isDigit } from '../detector.js';
import type { Detector } from '../detector.js';
import type { SpanList } from '../span-list.js';

const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

/** Luhn check over `count` digits stored in `digits`. */
function luhn(digits: Uint8Array, count: number): boolean {
  let sum = 0;
  for (let i = count - 1, double = false; i >= 0; i--, double = !double) {
    let d = digits[i]!;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const digits = new Uint8Array(MAX_DIGITS + 1);
/** groupEnd[k] = byte offset just after the k-th digit group of the run; groupDigits[k] = digits so far. */
const groupEnd = new Int32Array(MAX_DIGITS + 1);
const groupDigits = new Int32Array(MAX_DIGITS + 1);

/**
 * Payment card numbers: 13–19 digits, optionally in groups separated by single spaces or dashes, starting with
 * 2–6 (Mastercard, Visa, American Express, Discover, JCB, Diners, UnionPay), passing the Luhn check, and not glued
 * to letters or other digits. With separators every group has 3–7 digits. A run may continue past the number
 * ("4111 1111 1111 1111 12/27"): every prefix ending at a group boundary is a candidate, the longest valid one wins.
 */
export const paymentCardDetector: Detector = {
  name: 'payment_card',
  replacement: Buffer.from('****-****-****-****'),
  needles: [],
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    let i = from;
    while (i < to) {
      const b = buf[i]!;
      if (!isDigit(b)) {
        i++;
        continue;
      }
      // A run starts at a digit not glued to a letter or digit on its left.
      if (i > from && ALNUM[buf[i - 1]!] === 1) {
        while (i < to && isDigit(buf[i]!)) i++;
        continue;
      }
      const runStart = i;
      let count = 0;
      let groups = 0;
      let overflow = false;
      let j = i;
      while (j < to) {
        const c = buf[j]!;
        if (isDigit(c)) {
          if (count < MAX_DIGITS) digits[count] = c - 48;
          else overflow = true;
          count++;
          j++;
          continue;
        }
        if ((c === 0x20 || c === 0x2d) && j + 1 < to && isDigit(buf[j + 1]!) && groups < MAX_DIGITS) {
          groupEnd[groups] = j;
          groupDigits[groups] = count;
          groups++;
          j++;
          continue;
        }
        break;
      }
      const first = digits[0]!;
      if (first >= 2 && first <= 6) {
        // Candidates end at the run's end or at a group boundary; with separators every group has 3–7 digits.
        let groupsOk = true;
        let best = -1;
        for (let g = 0; g <= groups; g++) {
          const n = g < groups ? groupDigits[g]! : count;
          const size = n - (g === 0 ? 0 : groupDigits[g - 1]!);
          groupsOk &&= size >= 3 && size <= 7;
          if (n > MAX_DIGITS) break;
          if (n < MIN_DIGITS || !(g === 0 || groupsOk)) continue;
          const end = g < groups ? groupEnd[g]! : j;
          if (g === groups && (overflow || (j < to && ALNUM[buf[j]!] === 1))) continue;
          if (luhn(digits, n)) best = end;
        }
        if (best !== -1) out.add(runStart, best, id);
      }
      i = j;
    }
  },
};
