import { byteClass, WORD } from '../detector.js';
import type { Detector } from '../detector.js';
import type { SpanList } from '../span-list.js';

/*
 * Access tokens with a recognisable shape. Each starts at a word boundary (the byte before is not a letter,
 * digit or '_') and is matched by a bounded forward scan.
 */

const UPPER_DIGIT = byteClass('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
const TOKEN_CHARS = byteClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_');
const SLACK_CHARS = byteClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-');
const B64URL = byteClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_');
/** RFC 6750 b64token characters. */
const TOKEN68 = byteClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/');
const MAX_TOKEN = 4096;

function atBoundary(buf: Buffer, i: number, from: number): boolean {
  return i === from || WORD[buf[i - 1]!] !== 1;
}

/** End of the run of `cls` bytes starting at `i` (at most `max` bytes, never past `to`). */
function runEnd(buf: Buffer, cls: Uint8Array, i: number, to: number, max: number): number {
  const limit = Math.min(to, i + max);
  while (i < limit && cls[buf[i]!] === 1) i++;
  return i;
}

/**
 * Calls `onHit(position, needle)` for each occurrence of any needle in buf[from, to); `onHit` returns where to
 * continue. Scans each needle separately (there are few), so the work stays linear.
 */
function eachNeedle(
  buf: Buffer,
  needles: readonly Buffer[],
  from: number,
  to: number,
  onHit: (at: number, needle: Buffer) => number,
): void {
  for (const needle of needles) {
    let at = buf.indexOf(needle, from);
    while (at !== -1 && at + needle.length <= to) {
      const next = onHit(at, needle);
      at = buf.indexOf(needle, Math.max(next, at + 1));
    }
  }
}

const AWS_NEEDLES = [Buffer.from('AKIA'), Buffer.from('ASIA')];

/** AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 upper-case letters or digits. */
export const awsAccessKeyDetector: Detector = {
  name: 'aws_access_key',
  replacement: Buffer.from('REDACTED_AWS_ACCESS_KEY'),
  needles: AWS_NEEDLES,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    eachNeedle(buf, AWS_NEEDLES, from, to, (at) => {
      const end = runEnd(buf, UPPER_DIGIT, at + 4, to, 17);
      if (end - at === 20 && atBoundary(buf, at, from) && (end === to || WORD[buf[end]!] !== 1)) {
        out.add(at, end, id);
        return end;
      }
      return at + 1;
    });
  },
};

const GITHUB_NEEDLES = ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'].map((s) => Buffer.from(s));

/** GitHub tokens: ghp_/gho_/ghu_/ghs_/ghr_ and 30+ characters, or fine-grained github_pat_ and 40+. */
export const githubTokenDetector: Detector = {
  name: 'github_token',
  replacement: Buffer.from('REDACTED_GITHUB_TOKEN'),
  needles: GITHUB_NEEDLES,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    eachNeedle(buf, GITHUB_NEEDLES, from, to, (at, needle) => {
      if (!atBoundary(buf, at, from)) return at + 1;
      const body = at + needle.length;
      const end = runEnd(buf, TOKEN_CHARS, body, to, MAX_TOKEN);
      if (end - body >= (needle.length === 4 ? 30 : 40)) {
        out.add(at, end, id);
        return end;
      }
      return at + 1;
    });
  },
};

const SLACK_NEEDLES = [Buffer.from('xox'), Buffer.from('xapp-')];

/** Slack tokens: xoxb-/xoxp-/xoxa-/xoxr-/xoxs-/xoxe- or xapp- and 10+ token characters. */
export const slackTokenDetector: Detector = {
  name: 'slack_token',
  replacement: Buffer.from('REDACTED_SLACK_TOKEN'),
  needles: SLACK_NEEDLES,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    eachNeedle(buf, SLACK_NEEDLES, from, to, (at, needle) => {
      if (!atBoundary(buf, at, from)) return at + 1;
      let body = at + needle.length;
      if (needle.length === 3) {
        const kind = buf[body];
        if (body + 1 >= to || kind === undefined || !'abeprs'.includes(String.fromCharCode(kind)))
          return at + 1;
        if (buf[body + 1] !== 0x2d) return at + 1;
        body += 2;
      }
      const end = runEnd(buf, SLACK_CHARS, body, to, MAX_TOKEN);
      if (end - body >= 10) {
        out.add(at, end, id);
        return end;
      }
      return at + 1;
    });
  },
};

const BEARER_NEEDLES = ['Bearer ', 'bearer ', 'BEARER '].map((s) => Buffer.from(s));

/** The credential after "Bearer " (8+ token characters); the word "Bearer" itself is kept. */
export const bearerTokenDetector: Detector = {
  name: 'bearer_token',
  replacement: Buffer.from('REDACTED_TOKEN'),
  needles: BEARER_NEEDLES,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    eachNeedle(buf, BEARER_NEEDLES, from, to, (at, needle) => {
      if (!atBoundary(buf, at, from)) return at + 1;
      let start = at + needle.length;
      const spaces = Math.min(to, start + 16);
      while (start < spaces && buf[start] === 0x20) start++;
      let end = runEnd(buf, TOKEN68, start, to, MAX_TOKEN);
      while (end < to && end - start < MAX_TOKEN && buf[end] === 0x3d) end++; // trailing '=' padding
      if (end - start >= 8) {
        out.add(start, end, id);
        return end;
      }
      return at + 1;
    });
  },
};

const JWT_NEEDLES = [Buffer.from('eyJ')];

/** JSON Web Tokens: header.payload.signature, base64url, header and payload starting with "eyJ" ('{"'). */
export const jwtDetector: Detector = {
  name: 'jwt',
  replacement: Buffer.from('REDACTED_JWT'),
  needles: JWT_NEEDLES,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    eachNeedle(buf, JWT_NEEDLES, from, to, (at) => {
      // A token starts where no base64url character precedes it: "xeyJ…" is inside something else.
      if (at > from && B64URL[buf[at - 1]!] === 1) return at + 1;
      const headerEnd = runEnd(buf, B64URL, at, to, 64 * 1024);
      if (headerEnd - at < 8 || buf[headerEnd] !== 0x2e || headerEnd + 1 >= to) return headerEnd;
      const p = headerEnd + 1;
      if (buf[p] !== 0x65 || buf[p + 1] !== 0x79 || buf[p + 2] !== 0x4a) return headerEnd;
      const payloadEnd = runEnd(buf, B64URL, p, to, 1024 * 1024);
      if (payloadEnd - p < 8 || payloadEnd >= to || buf[payloadEnd] !== 0x2e) return payloadEnd;
      const end = runEnd(buf, B64URL, payloadEnd + 1, to, 64 * 1024);
      out.add(at, end, id);
      return end;
    });
  },
};

const STRIPE_NEEDLES = ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'].map((s) => Buffer.from(s));
const ALNUM_CHARS = byteClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');

/** Stripe secret and restricted keys: sk_live_/sk_test_/rk_live_/rk_test_ and 16+ letters or digits. */
export const stripeKeyDetector: Detector = {
  name: 'stripe_key',
  replacement: Buffer.from('REDACTED_STRIPE_KEY'),
  needles: STRIPE_NEEDLES,
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    eachNeedle(buf, STRIPE_NEEDLES, from, to, (at, needle) => {
      if (!atBoundary(buf, at, from)) return at + 1;
      const body = at + needle.length;
      const end = runEnd(buf, ALNUM_CHARS, body, to, MAX_TOKEN);
      if (end - body >= 16 && (end === to || WORD[buf[end]!] !== 1)) {
        out.add(at, end, id);
        return end;
      }
      return at + 1;
    });
  },
};
