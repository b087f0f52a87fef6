import { describe, expect, it } from 'vitest';
import type { Identity } from '../../shared/identity/index.js';
import { VerifiedTokens } from './verified-tokens.js';

const ada: Identity = { sub: 'ada', email: '', groups: [], agent: false, issuer: 'i', client_id: 'c' };
const jwt = (exp: number) =>
  `h.${Buffer.from(JSON.stringify({ sub: 'ada', exp })).toString('base64url')}.sig${exp}`;

function counting(result: () => Promise<Identity> = () => Promise.resolve(ada)) {
  let calls = 0;
  return {
    verify: (_t: string) => {
      calls++;
      return result();
    },
    calls: () => calls,
  };
}

describe('VerifiedTokens', () => {
  it('reuses a verification for maxAgeMs, then verifies again', async () => {
    let now = 1_000_000;
    const cache = new VerifiedTokens({ maxAgeMs: 60_000, maxEntries: 10, now: () => now });
    const v = counting();
    const token = jwt(10_000);
    expect(await cache.verify(token, v.verify)).toBe(ada);
    expect(await cache.verify(token, v.verify)).toBe(ada);
    expect(v.calls()).toBe(1);
    now += 60_001;
    await cache.verify(token, v.verify);
    expect(v.calls()).toBe(2);
  });

  it('never past the token exp, nor for a token without one', async () => {
    let now = 1_000_000;
    const cache = new VerifiedTokens({ maxAgeMs: 60_000, maxEntries: 10, now: () => now });
    const v = counting();
    const token = jwt(1_010); // expires 10 s from now
    await cache.verify(token, v.verify);
    now += 10_000;
    await cache.verify(token, v.verify);
    expect(v.calls()).toBe(2);
    await cache.verify('opaque-token', v.verify);
    await cache.verify('opaque-token', v.verify);
    expect(v.calls()).toBe(4);
  });

  it('keeps no refusal, and at most maxEntries tokens', async () => {
    const cache = new VerifiedTokens({ maxAgeMs: 60_000, maxEntries: 2, now: () => 0 });
    const refused = counting(() => Promise.reject(new Error('bad token')));
    await expect(cache.verify(jwt(100), refused.verify)).rejects.toThrow('bad token');
    await expect(cache.verify(jwt(100), refused.verify)).rejects.toThrow('bad token');
    expect(refused.calls()).toBe(2);
    const v = counting();
    for (const exp of [101, 102, 103]) await cache.verify(jwt(exp), v.verify);
    expect(cache.size).toBe(2);
  });

  it('verifies every time when maxAgeMs is 0', async () => {
    const cache = new VerifiedTokens({ maxAgeMs: 0, maxEntries: 10 });
    const v = counting();
    await cache.verify(jwt(1e10), v.verify);
    await cache.verify(jwt(1e10), v.verify);
    expect(v.calls()).toBe(2);
  });
});
