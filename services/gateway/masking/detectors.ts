/**
 * Content detectors: find sensitive values in text and replace them. Every pattern is linear (no nested
 * quantifiers), and each detector has a cheap pre-check so text without candidates costs one scan.
 */
export type DetectorName = 'email' | 'card' | 'national_id' | 'secret';

type Detector = {
  readonly name: DetectorName;
  /** Cheap test: can the text contain a match at all? */
  readonly maybe: (text: string) => boolean;
  readonly pattern: RegExp;
  /** The replacement for one match (null: keep the match, it was a false positive). */
  readonly replace: (match: string) => string | null;
};

const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}/g;
// 13-19 digits, optionally grouped by single spaces or dashes.
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;
// US SSN (area 001-665, 667-899; group 01-99; serial 0001-9999) and UK NI numbers.
const NATIONAL_ID =
  /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b|\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g;
const SECRET = new RegExp(
  [
    '-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----[\\s\\S]{0,8192}?-----END [A-Z ]{0,20}PRIVATE KEY-----',
    '\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b',
    '\\bgh[pousr]_[A-Za-z0-9]{36,255}\\b',
    '\\bxox[abposr]-[A-Za-z0-9-]{10,200}',
    '\\beyJ[A-Za-z0-9_-]{5,4096}\\.eyJ[A-Za-z0-9_-]{5,8192}\\.[A-Za-z0-9_-]{0,4096}',
    '\\b[Bb]earer [A-Za-z0-9._~+/=-]{16,4096}',
    '\\bsk_(?:live|test)_[A-Za-z0-9]{16,255}\\b',
  ].join('|'),
  'g',
);

/** Luhn checksum over the digits of `s` (separators ignored). */
export function luhnValid(s: string): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    digits++;
    let d = c;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits >= 13 && digits <= 19 && sum % 10 === 0;
}

function countDigits(text: string, atLeast: number): boolean {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++n >= atLeast) return true;
  }
  return false;
}

const DETECTORS: Readonly<Record<DetectorName, Detector>> = {
  email: { name: 'email', maybe: (t) => t.includes('@'), pattern: EMAIL, replace: () => '[email]' },
  card: {
    name: 'card',
    maybe: (t) => countDigits(t, 13),
    pattern: CARD,
    replace: (m) => (luhnValid(m) ? `[card ****${m.replace(/\D/g, '').slice(-4)}]` : null),
  },
  national_id: {
    name: 'national_id',
    maybe: (t) => countDigits(t, 6),
    pattern: NATIONAL_ID,
    replace: () => '[national-id]',
  },
  secret: {
    name: 'secret',
    maybe: (t) =>
      t.includes('-----BEGIN') ||
      t.includes('AKIA') ||
      t.includes('ASIA') ||
      t.includes('gh') ||
      t.includes('xox') ||
      t.includes('eyJ') ||
      t.includes('earer ') ||
      t.includes('sk_'),
    pattern: SECRET,
    replace: () => '[secret]',
  },
};

export const DETECTOR_NAMES: readonly DetectorName[] = Object.keys(DETECTORS) as DetectorName[];

/** Resolves detector names; unknown names are an error (the policy schema already rejects them). */
export function detectorsFor(names: readonly string[]): readonly Detector[] {
  return names.map((n) => {
    const d = DETECTORS[n as DetectorName];
    if (!d) throw new Error(`unknown detector ${n}`);
    return d;
  });
}

/** Replaces every detected value in `text`; returns the same string when nothing was found. */
export function maskText(text: string, detectors: readonly Detector[]): string {
  let out = text;
  for (const d of detectors) {
    if (!d.maybe(out)) continue;
    d.pattern.lastIndex = 0;
    out = out.replace(d.pattern, (m) => d.replace(m) ?? m);
  }
  return out;
}
