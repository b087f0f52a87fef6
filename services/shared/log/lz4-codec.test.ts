import { randomBytes } from 'node:crypto';
import kafkajs, { CompressionTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  lz4Compress,
  lz4Decompress,
  lz4FrameBound,
  lz4Pays,
  Lz4FrameError,
  MAX_DECOMPRESSED_BYTES,
  registerLz4Codec,
} from './lz4-codec.js';
import type { Lz4Codec } from './lz4-codec.js';

const json = Buffer.from(
  JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ id: i, email: `user${i}@example.com` }))),
);

describe('LZ4 codec', () => {
  it('pays for audit-like records, not for dense bulk output', () => {
    expect(lz4Pays([json])).toBe(true);
    expect(lz4Pays([json.subarray(0, 900), json.subarray(900, 2000), json])).toBe(true);
    const dense = Buffer.from(randomBytes(48 * 1024).toString('base64'));
    expect(lz4Pays([dense])).toBe(false);
    expect(lz4Pays([dense.subarray(0, 100), dense.subarray(100)])).toBe(false);
  });

  it('round-trips through kafkajs codec table once registered', async () => {
    registerLz4Codec();
    const codec = kafkajs.CompressionCodecs[CompressionTypes.LZ4]() as Lz4Codec;
    const compressed: Buffer = await codec.compress({ buffer: json });
    expect(compressed.length).toBeLessThan(json.length / 3);
    expect(compressed.readUInt32LE(0)).toBe(0x184d2204); // an LZ4 frame, as Kafka's clients write
    expect(Buffer.compare(await codec.decompress(compressed), json)).toBe(0);
  });

  it('bounds a frame by its block headers, before decompressing', () => {
    const frame = lz4Compress(json);
    expect(lz4FrameBound(frame)).toBeGreaterThanOrEqual(json.length);
    expect(lz4Decompress(frame).equals(json)).toBe(true);
    expect(lz4Decompress(lz4Compress(Buffer.alloc(0))).length).toBe(0);
  });

  it('refuses a frame that could expand past the bound (a compression bomb), allocating nothing', () => {
    const zeros = Buffer.alloc(MAX_DECOMPRESSED_BYTES + 64 * 1024);
    const bomb = lz4Compress(zeros);
    expect(bomb.length).toBeLessThan(zeros.length / 100);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => lz4Decompress(bomb)).toThrow(/expand past/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
    // Just under the bound still decompresses.
    const fits = Buffer.alloc(MAX_DECOMPRESSED_BYTES - 64 * 1024, 7);
    expect(lz4Decompress(lz4Compress(fits)).length).toBe(fits.length);
  });

  it('refuses what is not exactly one well-formed frame', () => {
    const frame = lz4Compress(json);
    const cases: [string, Buffer][] = [
      ['not an LZ4 frame', Buffer.from('{"plain":"json"}')],
      ['truncated', frame.subarray(0, frame.length - 3)],
      ['header only', frame.subarray(0, 6)],
      ['followed by other bytes', Buffer.concat([frame, Buffer.from([0])])],
      ['two frames', Buffer.concat([frame, frame])],
    ];
    for (const [, bytes] of cases) expect(() => lz4Decompress(bytes)).toThrow(Lz4FrameError);
    // A block header claiming more than the frame's block size.
    const forged = Buffer.from(frame);
    forged.writeUInt32LE(5 * 1024 * 1024, 7);
    expect(() => lz4FrameBound(forged)).toThrow(/larger than the frame allows/);
    // Reserved descriptor bits set.
    const reserved = Buffer.from(frame);
    reserved[5] = reserved[5]! | 0x01;
    expect(() => lz4FrameBound(reserved)).toThrow(/not supported/);
  });
});
