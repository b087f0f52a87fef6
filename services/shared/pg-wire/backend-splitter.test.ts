import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as b from './backend-builders.js';
import { BackendSplitter } from './backend-splitter.js';
import type { BackendFrame } from './backend-splitter.js';
import { PgProtocolError } from './errors.js';
import { BackendCode } from './message-codes.js';

function splitAll(chunks: Buffer[], max?: number): BackendFrame[] {
  const s = new BackendSplitter(max === undefined ? {} : { maxMessageSize: max });
  const out: BackendFrame[] = [];
  for (const c of chunks) out.push(...s.feed(c));
  expect(s.bufferedBytes).toBe(0);
  return out;
}

const MESSAGES = [
  b.rowDescription([{ name: 'a' }, { name: 'b', typeOid: 23 }]),
  b.dataRow(['x', null]),
  b.dataRow([Buffer.alloc(700, 1), '2']),
  b.commandComplete('SELECT 2'),
  Buffer.from([0x7a, 0, 0, 0, 6, 1, 2]), // an unknown type is framed and forwarded, not rejected
  b.readyForQuery('I'),
];
const STREAM = Buffer.concat(MESSAGES);

describe('BackendSplitter', () => {
  it('frames messages without decoding them, with views of the chunk', () => {
    const frames = splitAll([STREAM]);
    expect(frames.map((f) => f.code)).toEqual([
      BackendCode.RowDescription,
      BackendCode.DataRow,
      BackendCode.DataRow,
      BackendCode.CommandComplete,
      0x7a,
      BackendCode.ReadyForQuery,
    ]);
    frames.forEach((f, i) => {
      expect(f.raw.equals(MESSAGES[i]!)).toBe(true);
      expect(f.payload.equals(MESSAGES[i]!.subarray(5))).toBe(true);
      expect(f.raw.buffer).toBe(STREAM.buffer);
      expect(f.payload.buffer).toBe(STREAM.buffer);
    });
  });

  it('gives the same frames at every chunk boundary and byte by byte', () => {
    const expected = splitAll([STREAM]).map((f) => [...f.raw]);
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const frames = splitAll([STREAM.subarray(0, cut), STREAM.subarray(cut)]);
      expect(frames.map((f) => [...f.raw])).toEqual(expected);
      frames.forEach((f) => expect(f.payload.equals(f.raw.subarray(5))).toBe(true));
    }
    const bytes = [...STREAM].map((x) => Buffer.from([x]));
    expect(splitAll(bytes).map((f) => [...f.raw])).toEqual(expected);
  });

  it('copies a message that spans chunks exactly once, into a buffer of its size', () => {
    const s = new BackendSplitter();
    const m = MESSAGES[2]!;
    expect([...s.feed(m.subarray(0, 100))]).toEqual([]);
    expect([...s.feed(m.subarray(100, 400))]).toEqual([]);
    const [f] = [...s.feed(m.subarray(400))];
    expect(f!.raw.equals(m)).toBe(true);
    expect(f!.raw.byteLength).toBe(m.length);
    expect(f!.raw.buffer.byteLength).toBeGreaterThanOrEqual(m.length);
  });

  it('rejects a length below 4 and an oversized message, then stays failed', () => {
    const s = new BackendSplitter();
    s.push(Buffer.from([0x44, 0, 0, 0, 3]));
    expect(() => s.read()).toThrow(PgProtocolError);
    expect(() => s.read()).toThrow(/invalid server message length 3/);

    const big = new BackendSplitter({ maxMessageSize: 100 });
    big.push(Buffer.from([0x44, 0, 0, 0, 101]));
    let err: unknown;
    try {
      big.read();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PgProtocolError);
    expect((err as PgProtocolError).sqlstate).toBe('54000');
    expect(splitAll([b.dataRow(['x'.repeat(89)])], 100)).toHaveLength(1);
    expect(() => new BackendSplitter({ maxMessageSize: 3 })).toThrow(RangeError);
  });

  it('never throws anything but PgProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 8 }), (bytes, step) => {
        const s = new BackendSplitter({ maxMessageSize: 1024 });
        const buf = Buffer.from(bytes);
        try {
          for (let i = 0; i < buf.length; i += step) Array.from(s.feed(buf.subarray(i, i + step)));
        } catch (e) {
          expect(e).toBeInstanceOf(PgProtocolError);
        }
      }),
    );
  });
});
