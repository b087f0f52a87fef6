import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * patches/kafkajs+2.2.4.patch, applied by `npm ci`'s postinstall (patch-package). These tests fail when the patch is
 * not applied (or, for the checksum, when @node-rs/crc32's native binary did not install).
 */
const require = createRequire(import.meta.url);

describe('kafkajs record-batch CRC32C', () => {
  type Crc = ((b: Buffer) => number) & { implementation?: string };
  const patched = require('kafkajs/src/protocol/recordBatch/crc32C') as Crc;
  const javascript = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

  // The JavaScript loop it replaces was 14 % of the gateway's CPU on a 50 MB SSH output.
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

describe('kafkajs request queue', () => {
  type Queue = {
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    scheduleCheckPendingRequests(): void;
  };
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (
    o: Record<string, unknown>,
  ) => Queue;
  const logger = {
    debug: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    info: () => undefined,
  };
  const queue = () =>
    new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, clientId: 't', broker: 'b', logger });

  it('arms no timer when idle, and still checks pending or throttled requests', () => {
    const idle = queue();
    idle.scheduleCheckPendingRequests();
    expect(idle.throttleCheckTimeoutId).toBeNull(); // kafkajs 2.2.4 arms a 1 ms timer here, forever

    const waiting = queue();
    waiting.pending.push({});
    waiting.scheduleCheckPendingRequests();
    expect(waiting.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(waiting.throttleCheckTimeoutId!);

    const throttled = queue();
    throttled.throttledUntil = Date.now() + 60_000;
    throttled.scheduleCheckPendingRequests();
    expect(throttled.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(throttled.throttleCheckTimeoutId!);
  });
});
