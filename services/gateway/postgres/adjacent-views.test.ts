import { describe, expect, it } from 'vitest';
import { concatAdjacent, joinAdjacent } from './adjacent-views.js';

describe('joinAdjacent', () => {
  // Joining is byte-exact whatever the memory: views that are adjacent hold exactly the concatenated bytes.
  const chunk = Buffer.from('abcdefghij');

  it('joins consecutive views of one chunk into one view, without copying', () => {
    const [one, ...rest] = joinAdjacent([chunk.subarray(0, 2), chunk.subarray(2, 5), chunk.subarray(5, 10)]);
    expect(rest).toEqual([]);
    expect(one!.toString()).toBe('abcdefghij');
    expect(one!.buffer).toBe(chunk.buffer);
    chunk[0] = 0x41; // a view: shares the chunk's memory
    expect(one!.toString()).toBe('Abcdefghij');
    chunk[0] = 0x61;
  });

  it('keeps gaps, other buffers and order', () => {
    const masked = Buffer.from('XY');
    const parts = joinAdjacent([
      chunk.subarray(0, 2),
      chunk.subarray(2, 4),
      masked, // a rewritten frame
      chunk.subarray(6, 8), // bytes 4..6 were kept from the client
      chunk.subarray(8, 10),
      chunk.subarray(0, 1), // same memory, but not after the previous one
    ]);
    expect(parts.map((b) => b.toString())).toEqual(['abcd', 'XY', 'ghij', 'a']);
    expect(joinAdjacent([])).toEqual([]);
    expect(joinAdjacent([masked])[0]).toBe(masked);
  });

  it('concatAdjacent copies only when the parts are not one run', () => {
    const view = concatAdjacent([chunk.subarray(1, 3), chunk.subarray(3, 6)], 5);
    expect(view.toString()).toBe('bcdef');
    expect(view.buffer).toBe(chunk.buffer);
    const copy = concatAdjacent([chunk.subarray(1, 3), Buffer.from('Z')], 3);
    expect(copy.toString()).toBe('bcZ');
    chunk[1] = 0x42;
    expect(copy.toString()).toBe('bcZ'); // a copy: the chunk's later bytes do not show
    chunk[1] = 0x62;
  });
});

describe('joinAdjacent with the whole chunk', () => {
  const chunk = Buffer.from('abcdefghij');

  it('gives the chunk itself back for a run that spans all of it', () => {
    const parts = [chunk.subarray(0, 4), chunk.subarray(4, 10)];
    expect(joinAdjacent(parts, chunk)[0]).toBe(chunk);
    expect(joinAdjacent(parts)[0]).not.toBe(chunk); // without the hint: a new view of the same bytes
  });

  it('makes a view for a run that spans only part of it', () => {
    const [head, masked, tail] = joinAdjacent(
      [
        chunk.subarray(0, 2),
        chunk.subarray(2, 4),
        Buffer.from('XY'),
        chunk.subarray(6, 8),
        chunk.subarray(8, 10),
      ],
      chunk,
    );
    expect(head).not.toBe(chunk);
    expect(head!.toString()).toBe('abcd');
    expect(masked!.toString()).toBe('XY');
    expect(tail!.toString()).toBe('ghij');
    expect(tail!.buffer).toBe(chunk.buffer);
  });

  it('never gives back a chunk the parts were not cut from', () => {
    const other = Buffer.from('abcdefghij');
    const [one] = joinAdjacent([chunk.subarray(0, 5), chunk.subarray(5, 10)], other);
    expect(one).not.toBe(other);
    expect(one!.buffer).toBe(chunk.buffer);
  });
});
