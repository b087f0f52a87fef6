import { byteClass } from '../detector.js';
import type { Detector } from '../detector.js';
import type { SpanList } from '../span-list.js';

const LOCAL = byteClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-');
// Internationalised local parts ("ännä@…"): every byte of a multi-byte UTF-8 character.
LOCAL.fill(1, 0x80);
const DOMAIN = byteClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-');
const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;
const AT = Buffer.from('@');

function isLetter(b: number): boolean {
  return (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
}

/**
 * End of the longest valid domain in buf[start, end) that ends at a label boundary, or -1: at least two labels,
 * none empty or starting/ending with '-', the last one (the TLD) two or more letters. One pass, so
 * "a@b.co.4111" still yields "b.co".
 */
function domainEnd(buf: Buffer, start: number, end: number): number {
  let best = -1;
  let labelStart = start;
  let labels = 0;
  let letters = true;
  for (let i = start; i <= end; i++) {
    const b = i < end ? buf[i]! : 0x2e;
    if (b !== 0x2e) {
      // "a@b.co-4111…": a TLD may also end where a '-' glues something else to it.
      if (b === 0x2d && labels >= 1 && letters && i - labelStart >= 2) best = i;
      if (!isLetter(b)) letters = false;
      continue;
    }
    if (i === labelStart || buf[labelStart] === 0x2d || buf[i - 1] === 0x2d) break;
    labels++;
    if (labels >= 2 && letters && i - labelStart >= 2) best = i;
    labelStart = i + 1;
    letters = true;
  }
  return best;
}

/**
 * local@domain.tld: a local part of [A-Za-z0-9._%+-] and non-ASCII characters (at most 64 bytes), a domain of
 * ASCII DNS labels (at most 253) ending in a two-letter-or-longer alphabetic TLD.
 */
export const emailDetector: Detector = {
  name: 'email',
  replacement: Buffer.from('***@***'),
  needles: [AT],
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    let at = buf.indexOf(AT, from);
    while (at !== -1 && at < to) {
      let start = at;
      const minStart = Math.max(from, at - MAX_LOCAL);
      while (start > minStart && LOCAL[buf[start - 1]!] === 1) start--;
      // Never start inside a multi-byte character (the 64-byte cap may land there), nor on a '.'.
      while (start < at && ((buf[start]! & 0xc0) === 0x80 || buf[start] === 0x2e)) start++;
      let end = at + 1;
      const maxEnd = Math.min(to, at + 1 + MAX_DOMAIN);
      while (end < maxEnd && DOMAIN[buf[end]!] === 1) end++;
      while (end > at + 1 && (buf[end - 1] === 0x2e || buf[end - 1] === 0x2d)) end--; // "mail a@b.com."
      // Local parts and domains longer than the limits are cut, not rejected: masking too much is the safe side.
      end = start < at ? domainEnd(buf, at + 1, end) : -1;
      if (end !== -1) {
        out.add(start, end, id);
        at = buf.indexOf(AT, end);
      } else {
        at = buf.indexOf(AT, at + 1);
      }
    }
  },
};
