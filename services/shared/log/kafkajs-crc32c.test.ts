import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * patches/kafkajs+2.2.4.patch (applied by `npm ci`'s postinstall) gives kafkajs @node-rs/crc32's native CRC32C for
 * every record batch it produces. The JavaScript loop it replaces cost 14 % of the gateway's CPU on a large SSH
 * output. These tests fail when the patch is not applied or the native binary did not install.
 */
const require = createRequire(import.meta.url);
type Crc = ((b: Buffer) => number) & { implementation?: string };
const patched = require('kafkajs/src/protocol/recordBatch/crc32C') as Crc;
const javascript = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

describe('kafkajs record-batch CRC32C', () => {
  it('is the native implementation', () => {
    expect(patched.implementation).toBe('native');
  });

  it('gives the CRC32C check value and agrees with kafkajs own loop', () => {
    expect(patched(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(patched(Buffer.alloc(0))).toBe(0);
    for (const n of [1, 7, 8, 63, 64, 65, 4096, 100_003]) {
      const b = randomBytes(n);
      expect(patched(b)).toBe(javascript(b));
      expect(patched(b.subarray(3))).toBe(javascript(b.subarray(3)));
    }
  });
});
