import { describe, expect, it } from 'vitest';
import { SqlQuoteError } from '../errors.js';
import { RowBinaryWriter } from './row-binary.js';

const hex = (w: RowBinaryWriter) => w.finish().toString('hex');

describe('RowBinaryWriter', () => {
  it('writes strings as LEB128 length + UTF-8, growing its buffer', () => {
    const w = new RowBinaryWriter(16);
    w.string('');
    w.string('é');
    w.string('x'.repeat(300));
    const out = w.finish();
    expect(out.subarray(0, 4).toString('hex')).toBe('0002c3a9');
    expect(out.subarray(4, 6).toString('hex')).toBe('ac02'); // 300 = 0b10_0101100
    expect(out.length).toBe(4 + 2 + 300);
  });

  it('keeps a non-ASCII string written at the very end of its buffer', () => {
    for (let fill = 0; fill < 24; fill++) {
      const w = new RowBinaryWriter(16);
      for (let i = 0; i < fill; i++) w.uint8(1);
      w.string('é');
      w.string('€'.repeat(50));
      const out = w.finish();
      expect(out.subarray(fill).toString('hex')).toBe('02c3a9' + '9601' + 'e282ac'.repeat(50));
    }
  });

  it('replaces unpaired surrogates by U+FFFD, as a quoted literal does', () => {
    const w = new RowBinaryWriter();
    w.string('\ud800a');
    expect(hex(w)).toBe('04efbfbd61');
  });

  it('writes integers little-endian and arrays as count + items', () => {
    const w = new RowBinaryWriter();
    w.uint8(true);
    w.uint32(0x01020304);
    w.uint64(2n ** 64n - 1n);
    w.strings(['a', 'bc']);
    w.bytes(new Uint8Array([0, 255]));
    expect(hex(w)).toBe('01' + '04030201' + 'ffffffffffffffff' + '02016102626302' + '00ff');
  });

  it('refuses values outside the column type', () => {
    const w = new RowBinaryWriter();
    expect(() => w.uint8(256)).toThrow(SqlQuoteError);
    expect(() => w.uint32(-1)).toThrow(SqlQuoteError);
    expect(() => w.uint32(2 ** 32)).toThrow(SqlQuoteError);
    expect(() => w.uint32(1.5)).toThrow(SqlQuoteError);
    expect(() => w.uint64(-1n)).toThrow(SqlQuoteError);
    expect(() => w.uint64(2n ** 64n)).toThrow(SqlQuoteError);
    expect(w.length).toBe(0);
  });
});
