import { describe, expect, it } from 'vitest';
import { OVERFLOW_SOURCE, SourceLimiter } from './source-limiter.js';

function limiter(opts: { burst?: number; perSecond?: number; maxSources?: number } = {}) {
  let now = 0;
  const l = new SourceLimiter({
    burst: opts.burst ?? 3,
    perSecond: opts.perSecond ?? 1,
    maxSources: opts.maxSources ?? 100,
    now: () => now,
  });
  return { l, advance: (ms: number) => (now += ms) };
}

describe('SourceLimiter', () => {
  it('records a burst, then counts the rest and hands the count to the next recorded refusal', () => {
    const { l, advance } = limiter();
    const got = Array.from({ length: 6 }, () => l.admit('10.0.0.1', 'bad_token'));
    expect(got.map((a) => a.record)).toEqual([true, true, true, false, false, false]);
    advance(1_000);
    expect(l.admit('10.0.0.1', 'bad_token')).toEqual({ record: true, source: '10.0.0.1', suppressed: 3 });
    expect(l.admit('10.0.0.1', 'bad_token')).toEqual({ record: false, source: '10.0.0.1' });
  });

  it('keeps sources apart', () => {
    const { l } = limiter({ burst: 1 });
    expect(l.admit('a', 'x').record).toBe(true);
    expect(l.admit('a', 'x').record).toBe(false);
    expect(l.admit('b', 'x').record).toBe(true);
  });

  it('drain reports held-back counts by reason once, and forgets refilled sources', () => {
    const { l, advance } = limiter({ burst: 1 });
    l.admit('a', 'bad_token');
    l.admit('a', 'bad_token');
    l.admit('a', 'unknown_connection');
    const drained = l.drain();
    expect(drained).toHaveLength(1);
    expect(drained[0]?.count).toBe(2);
    expect([...(drained[0]?.reasons ?? [])]).toEqual([
      ['bad_token', 1],
      ['unknown_connection', 1],
    ]);
    expect(l.drain()).toEqual([]);
    expect(l.sources).toBe(1);
    advance(5_000);
    l.drain();
    expect(l.sources).toBe(0);
  });

  it('bounds its table: further sources share the overflow bucket', () => {
    const { l } = limiter({ burst: 1, maxSources: 2 });
    l.admit('a', 'x');
    l.admit('b', 'x');
    expect(l.admit('c', 'x')).toEqual({ record: true, source: OVERFLOW_SOURCE, suppressed: 0 });
    expect(l.admit('d', 'x')).toEqual({ record: false, source: OVERFLOW_SOURCE });
    for (let i = 0; i < 10_000; i++) l.admit(`s${i}`, 'x');
    expect(l.sources).toBe(3);
    expect(l.drain().find((s) => s.source === OVERFLOW_SOURCE)?.count).toBe(10_001);
  });
});
