import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContentScanner } from './content-scanner.js';
import { DETECTORS } from './registry.js';
import { SpanList } from './span-list.js';

const ALL = [...DETECTORS.values()];

/** Every match as `detector:start-end`, sorted. */
function listed(spans: SpanList): string[] {
  const out: string[] = [];
  for (let i = 0; i < spans.length; i++) out.push(`${spans.detector(i)}:${spans.start(i)}-${spans.end(i)}`);
  return out.sort();
}

/** What scanning did before lines were noted: each candidate detector over the whole range. */
function wholeRange(scanner: ContentScanner, buf: Buffer, from: number, to: number): string[] {
  const spans = new SpanList();
  const present = scanner.candidates(buf, from, to);
  ALL.forEach((d, k) => {
    if ((present & (1 << k)) !== 0) d.find(buf, from, to, spans, k);
  });
  return listed(spans);
}

// Text made of what the digit detectors look at: digits, their separators, newlines, letters, brackets, plus.
const PIECES = [
  '0',
  '1',
  '4',
  '5',
  '9',
  ' ',
  '-',
  '.',
  '/',
  '(',
  ')',
  '+',
  '\n',
  '\n',
  'A',
  'B',
  'Z',
  'x',
  '12',
  '4111',
  '555',
  '020 ',
  '+44 ',
  'AB',
  'C',
];
const text = fc.array(fc.constantFrom(...PIECES), { maxLength: 300 }).map((p) => p.join(''));

describe('ContentScanner', () => {
  it('finds exactly what every candidate detector finds over the whole range (digit detectors run on lines)', () => {
    const scanner = new ContentScanner(ALL);
    const spans = new SpanList();
    fc.assert(
      fc.property(text, fc.nat(5), fc.nat(5), fc.nat(2), (s, cutFront, cutBack, pad) => {
        // pad 1 and 2 make the range long enough for the native needle and digit-run search.
        const filler = pad === 0 ? '' : 'lorem ipsum 1-2 3\n'.repeat(60);
        const buf = Buffer.from(pad === 1 ? `##${filler}${s}##` : `##${s}${filler}##`);
        const from = Math.min(cutFront, buf.length);
        const to = Math.max(from, buf.length - cutBack);
        scanner.scan(buf, from, to, spans);
        expect(listed(spans)).toEqual(wholeRange(scanner, buf, from, to));
      }),
      { numRuns: 3000 },
    );
  });

  it('runs a digit detector only on the lines with a long enough run', () => {
    const calls: [number, number][] = [];
    const phone = DETECTORS.get('phone')!;
    const spy = {
      ...phone,
      find: (b: Buffer, f: number, t: number, o: SpanList, id: number) => (
        calls.push([f, t]),
        phone.find(b, f, t, o, id)
      ),
    };
    const scanner = new ContentScanner([spy]);
    const buf = Buffer.from('abc\ncall 555-123-4567 now\nxyz 12\n020 7946 0958\nend');
    const spans = new SpanList();
    scanner.scan(buf, 0, buf.length, spans);
    expect(calls.map(([f, t]) => buf.subarray(f, t).toString())).toEqual([
      'call 555-123-4567 now',
      '020 7946 0958',
    ]);
    expect(spans.length).toBe(2);
  });

  it('finds needles natively in long ranges exactly as byte by byte in short ones', () => {
    const scanner = new ContentScanner(ALL);
    const filler = 'lorem ipsum dolor sit amet '.repeat(60);
    for (const secret of [
      'mail bob@example.com',
      'AKIAABCDEFGHIJKLMNOP',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
      'ghp_' + 'a'.repeat(36),
    ]) {
      const long = Buffer.from(`${filler}${secret} ${filler}`);
      const short = Buffer.from(`${secret} `);
      const spans = new SpanList();
      scanner.scan(long, 0, long.length, spans);
      const inLong = listed(spans).map((x) => x.split(':')[0]);
      scanner.scan(short, 0, short.length, spans);
      expect(inLong).toEqual(listed(spans).map((x) => x.split(':')[0]));
      expect(inLong.length).toBeGreaterThan(0);
    }
  });

  it('sees every needle in long ranges, overlapping and repeated ones included', () => {
    const scanner = new ContentScanner(ALL);
    const needleBits = ALL.reduce((bits, d, k) => (d.needles.length > 0 ? bits | (1 << k) : bits), 0);
    const pieces = [
      ...new Set(ALL.flatMap((d) => d.needles.map((n) => n.toString('latin1')))),
      '-----',
      'BEGIN ',
      'gh',
      'xo',
      'xapp',
      'ey',
      'J',
      'A',
      'k_',
      'x',
      ' ',
      '\n',
    ];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...pieces), { maxLength: 40 }),
        fc.nat(1500),
        fc.nat(3),
        fc.nat(3),
        (parts, at, skew, cut) => {
          const filler = 'q'.repeat(1200);
          const inner = parts.join('');
          // `skew`: the buffer starts at an odd or even byte offset; `cut`: the range at an odd or even index.
          const whole = Buffer.from('#'.repeat(skew) + filler.slice(0, at) + inner + filler.slice(at));
          const buf = whole.subarray(skew);
          const range = buf.subarray(cut, buf.length - cut);
          let expected = 0;
          ALL.forEach((d, k) => {
            if (d.needles.some((n) => range.includes(n))) expected |= 1 << k;
          });
          expect(scanner.candidates(buf, cut, buf.length - cut) & needleBits).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
