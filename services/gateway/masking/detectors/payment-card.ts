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

const digits = new Uint8Array(MAX_DIGITS);
/** Candidate ends: byte offset after the k-th complete group from the start, and the digits up to it. */
const groupEnd = new Int32Array(MAX_DIGITS + 1);
const groupDigits = new Int32Array(MAX_DIGITS + 1);

/**
 * Payment card numbers: 13–19 digits, optionally in groups separated by single spaces or dashes, starting with
 * 2–6 (Mastercard, Visa, American Express, Discover, JCB, Diners, UnionPay), passing the Luhn check, and not glued
 * to letters or other digits. With separators every group has 3–7 digits. A number may start at any group of a
 * longer run and the run may continue past it ("4111 1111 1111 1111 12/27", "ref 1 4111 1111 1111 1111"): from
 * each group start, every end at a group boundary is a candidate and the longest valid one wins. Each start reads
 * at most 19 digits, so the scan stays linear.
 */
export const paymentCardDetector: Detector = {
  name: 'payment_card',
  replacement: Buffer.from('****-****-****-****'),
  needles: [],
  minDigitRun: MIN_DIGITS,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    let i = from;
    while (i < to) {
      if (!isDigit(buf[i]!)) {
        i++;
        continue;
      }
      // A number starts at a digit not glued to a letter or digit on its left.
      if (i > from && ALNUM[buf[i - 1]!] === 1) {
        while (i < to && isDigit(buf[i]!)) i++;
        continue;
      }
      const start = i;
      let count = 0;
      let groups = 0;
      let firstGroupEnd = -1;
      let j = i;
      let complete = true; // the last group ended at the run's end (not cut at MAX_DIGITS)
      while (j < to) {
        const c = buf[j]!;
        if (isDigit(c)) {
          if (count === MAX_DIGITS) {
            complete = false;
            break;
          }
          digits[count++] = c - 48;
          j++;
        } else if ((c === 0x20 || c === 0x2d) && j + 1 < to && isDigit(buf[j + 1]!)) {
          groupEnd[groups] = j;
          groupDigits[groups] = count;
          groups++;
          if (firstGroupEnd === -1) firstGroupEnd = j;
          j++;
        } else break;
      }
      if (firstGroupEnd === -1) firstGroupEnd = j;
      // The run's end is a candidate only when the number is not glued to what follows.
      if (complete && !(j < to && ALNUM[buf[j]!] === 1)) {
        groupEnd[groups] = j;
        groupDigits[groups] = count;
        groups++;
      }
      let best = -1;
      const first = digits[0]!;
      if (first >= 2 && first <= 6) {
        let groupsOk = true;
        for (let g = 0; g < groups; g++) {
          const n = groupDigits[g]!;
          const size = n - (g === 0 ? 0 : groupDigits[g - 1]!);
          groupsOk &&= size >= 3 && size <= 7;
          if (n >= MIN_DIGITS && (g === 0 || groupsOk) && luhn(digits, n)) best = groupEnd[g]!;
        }
      }
      if (best !== -1) {
        out.add(start, best, id);
        i = best;
      } else {
        // Skip this first group (digits glued to it cannot start a number) and try from the next one.
        i = firstGroupEnd;
        if (!complete && i === j) while (i < to && isDigit(buf[i]!)) i++;
      }
    }
  },
};
