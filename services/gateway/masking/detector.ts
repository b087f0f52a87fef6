import type { SpanList } from './span-list.js';

/**
 * A content detector over UTF-8 bytes. Every pattern is ASCII, so bytes of multi-byte characters never match and
 * values are scanned without decoding them to strings.
 *
 * Contract: `find` appends the spans of its matches that lie inside `buf[from, to)` and never reads outside that
 * range; its work is linear in `to - from` (bounded look-arounds, no backtracking regular expressions).
 */
export interface Detector {
  readonly name: string;
  /**
   * Fixed replacement for a match, the same whatever the match's length (nothing about it leaks). Replacements use
   * only letters, digits and `*@-_`: they stay valid inside JSON strings, array and composite literals.
   */
  readonly replacement: Buffer;
  /** Byte strings one of which occurs in every match (checked in one pass before `find` runs). */
  readonly needles: readonly Buffer[];
  /**
   * For detectors without needles: every match contains a run of at least this many digits (single spaces or
   * dashes allowed between them). Without needles or this, `find` runs on every value.
   */
  readonly minDigitRun?: number;
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void;
}

/** Character-class table over bytes. */
export function byteClass(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';

export const ALNUM = byteClass(LOWER + UPPER + DIGITS);
/** Characters that continue a word or token: a match must not be glued to one of them. */
export const WORD = byteClass(LOWER + UPPER + DIGITS + '_');

export function isDigit(b: number): boolean {
  return b >= 48 && b <= 57;
}

export function isUpper(b: number): boolean {
  return b >= 65 && b <= 90;
}
