import { describe, expect, it } from 'vitest';
import { policyTime } from './policy-time.js';

describe('policyTime', () => {
  it('gives unix seconds and the UTC weekday and hour', () => {
    expect(policyTime(new Date('2026-01-01T00:05:59.999Z'))).toEqual({
      unix: 1767225959,
      weekday: 'Thursday',
      hour: 0,
    });
    expect(policyTime(new Date('2026-01-04T23:00:00-02:00'))).toEqual({
      unix: 1767574800,
      weekday: 'Monday',
      hour: 1,
    });
  });
});
