import { ContentScanner } from './content-scanner.js';
import type { Detector } from './detector.js';
import { SpanList } from './span-list.js';

/** One match, as byte offsets into the scanned buffer. */
export interface SensitiveSpan {
  readonly detector: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Returns buf[from, to) with every span replaced by its detector's replacement (spans sorted and merged first:
 * overlapping matches become one, replaced by the first one's token). `spans` must be non-empty.
 */
export function applySpans(
  buf: Buffer,
  from: number,
  to: number,
  detectors: readonly Detector[],
  spans: SpanList,
): Buffer {
  spans.sort();
  const parts: Buffer[] = [];
  let pos = from;
  let i = 0;
  while (i < spans.length) {
    const start = spans.start(i);
    let end = spans.end(i);
    const replacement = detectors[spans.detector(i)]!.replacement;
    i++;
    while (i < spans.length && spans.start(i) < end) {
      end = Math.max(end, spans.end(i));
      i++;
    }
    if (start > pos) parts.push(buf.subarray(pos, start));
    parts.push(replacement);
    pos = end;
  }
  if (pos < to) parts.push(buf.subarray(pos, to));
  return Buffer.concat(parts);
}

const shared = new SpanList();
const scanners = new WeakMap<readonly Detector[], ContentScanner>();

function scannerFor(detectors: readonly Detector[]): ContentScanner {
  let s = scanners.get(detectors);
  if (s === undefined) scanners.set(detectors, (s = new ContentScanner(detectors)));
  return s;
}

/**
 * `buf` with sensitive content replaced; the same Buffer object when nothing matched. The scanner for a given
 * detectors array is built once and cached (keep passing the same array).
 */
export function maskBytes(buf: Buffer, detectors: readonly Detector[]): Buffer {
  scannerFor(detectors).scan(buf, 0, buf.length, shared);
  return shared.length === 0 ? buf : applySpans(buf, 0, buf.length, detectors, shared);
}

/** `text` with sensitive content replaced; the same string when nothing matched. */
export function maskText(text: string, detectors: readonly Detector[]): string {
  const buf = Buffer.from(text, 'utf8');
  const masked = maskBytes(buf, detectors);
  return masked === buf ? text : masked.toString('utf8');
}

/** The matches in `buf`, sorted by position (for tests and audit counters; never log the matched bytes). */
export function findSensitive(buf: Buffer, detectors: readonly Detector[]): SensitiveSpan[] {
  const spans = new SpanList();
  scannerFor(detectors).scan(buf, 0, buf.length, spans);
  spans.sort();
  const out: SensitiveSpan[] = [];
  for (let i = 0; i < spans.length; i++) {
    out.push({ detector: detectors[spans.detector(i)]!.name, start: spans.start(i), end: spans.end(i) });
  }
  return out;
}
