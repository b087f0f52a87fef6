import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectorsFor, maskBytes } from '../masking/index.js';
import { StreamMasker } from './stream-masker.js';

const detectors = detectorsFor(['email', 'card', 'secret']);
const maskBuffer = (data: Buffer) => maskBytes(data, detectors);
const mask = (text: string) => maskBuffer(Buffer.from(text)).toString();

/** Feeds `text` cut at `cuts` and returns what the client would see. */
function run(text: string | Buffer, cuts: number[], opts = { maxLineBytes: 4096, carryBytes: 256 }): Buffer {
  const data = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const m = new StreamMasker(maskBuffer, opts);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= at || c >= data.length) continue;
    out.push(m.push(data.subarray(at, c)));
    at = c;
  }
  out.push(m.push(data.subarray(at)), m.flush(true));
  return Buffer.concat(out);
}

const LOG =
  'user login email=mary.johnson@example.org ip=203.0.113.17\n' +
  'payment declined card=4111111111111111 reason=insufficient_funds\n' +
  'done\n';

describe('StreamMasker', () => {
  it('masks values split across chunks exactly as the whole text', () => {
    const whole = Buffer.from(mask(LOG));
    expect(whole.toString()).not.toContain('mary.johnson');
    for (let i = 1; i < LOG.length; i++) expect(run(LOG, [i]).equals(whole)).toBe(true);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: LOG.length - 1 }), { maxLength: 12 }), (cuts) =>
        run(LOG, cuts).equals(whole),
      ),
    );
  });

  it('holds a partial line until the newline or a flush, and a PEM block until its END line', () => {
    const m = new StreamMasker(maskBuffer, { maxLineBytes: 4096, carryBytes: 256 });
    expect(m.push(Buffer.from('contact: bob@exa')).length).toBe(0);
    expect(m.held).toBe(16);
    expect(m.push(Buffer.from('mple.com\nprompt$ ')).toString()).toBe(mask('contact: bob@example.com\n'));
    expect(m.flush().toString()).toBe('prompt$ ');
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
    expect(m.push(Buffer.from(key.slice(0, 50))).length).toBe(0);
    expect(m.flush().length).toBe(0); // a quiet period does not release an open block
    expect(m.push(Buffer.from(key.slice(50))).toString()).toBe(mask(key));
    expect(mask(key)).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
  });

  it('bounds what it holds: an over-long line is cut at a blank near the bound', () => {
    const line = `${'word '.repeat(400)}a@b.example.com ${'x'.repeat(10)}`;
    const m = new StreamMasker(maskBuffer, { maxLineBytes: 1024, carryBytes: 128 });
    const out = m.push(Buffer.from(line));
    expect(m.held).toBeLessThanOrEqual(1024);
    expect(out.length + m.held).toBe(line.length);
    expect(Buffer.concat([out, m.flush(true)]).toString()).toBe(mask(line));
  });

  it('passes binary and non-UTF-8 bytes through unchanged when nothing matches', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a, 0xc3, 0x28, 0x80, 0x0a, 0x9f]);
    expect(run(bytes, [3, 6]).equals(bytes)).toBe(true);
    const latin = Buffer.concat([Buffer.from([0xe9, 0x20]), Buffer.from('x@y.example.org\n')]);
    expect(run(latin, [4])).toEqual(
      Buffer.concat([Buffer.from([0xe9, 0x20]), Buffer.from(mask('x@y.example.org\n'))]),
    );
  });
});
