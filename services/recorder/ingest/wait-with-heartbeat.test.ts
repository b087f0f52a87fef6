import { describe, expect, it } from 'vitest';
import { waitWithHeartbeat } from './wait-with-heartbeat.js';

const later = (ms: number, fail = false) =>
  new Promise<void>((resolve, reject) =>
    setTimeout(() => (fail ? reject(new Error('write failed')) : resolve()), ms),
  );

describe('waitWithHeartbeat', () => {
  it('heartbeats while the work is running', async () => {
    let beats = 0;
    await waitWithHeartbeat(later(55), () => Promise.resolve(void beats++), 10);
    expect(beats).toBeGreaterThanOrEqual(3);
  });

  it('does not heartbeat for quick work and passes failures on', async () => {
    let beats = 0;
    await waitWithHeartbeat(Promise.resolve(), () => Promise.resolve(void beats++), 50);
    expect(beats).toBe(0);
    await expect(waitWithHeartbeat(later(5, true), () => Promise.resolve(), 50)).rejects.toThrow(
      'write failed',
    );
  });

  it('rejects when a heartbeat fails (rebalance), without an unhandled rejection from the work', async () => {
    const work = later(40, true);
    await expect(waitWithHeartbeat(work, () => Promise.reject(new Error('rebalancing')), 5)).rejects.toThrow(
      'rebalancing',
    );
    await new Promise((r) => setTimeout(r, 50));
  });
});
