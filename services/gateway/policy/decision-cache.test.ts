import { describe, expect, it, vi } from 'vitest';
import { frozenJson } from '../pipeline/frozen-json.js';
import {
  DECISION_CACHE_MAX_ENTRIES,
  DECISION_CACHE_MAX_KEY_LENGTH,
  DecisionCache,
} from './decision-cache.js';
import type { Decision } from './types.js';

function decision(reason: string): Decision {
  return {
    allow: true,
    reasons: [reason],
    approval: { required: false, groups: [], approvals_needed: 0, ttl_seconds: 0, reuse_seconds: 0 },
    mask: { columns: ['customers.email'], fields: [], detectors: ['email'] },
    audit: 'batched',
    grants_used: [],
  };
}

describe('DecisionCache', () => {
  it('returns the remembered decision for the same result text, frozen whole', () => {
    const cache = new DecisionCache();
    const d = cache.remember('r1', decision('a'));
    expect(cache.get('r1')).toBe(d);
    expect(cache.get('r2')).toBeUndefined();
    expect(Object.isFrozen(d)).toBe(true);
    expect(Object.isFrozen(d.reasons)).toBe(true);
    expect(Object.isFrozen(d.approval.groups)).toBe(true);
    expect(Object.isFrozen(d.mask.columns)).toBe(true);
    expect(() => (d.reasons as string[]).push('x')).toThrow(TypeError);
  });

  it('freezes as the decision event expects: a remembered decision is serialised once, not per request', () => {
    const cache = new DecisionCache();
    const d = cache.remember('r1', decision('a'));
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      const first = frozenJson(d);
      expect(frozenJson(cache.get('r1')!)).toBe(first);
      expect(JSON.parse(first)).toEqual(decision('a'));
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
  });

  it('does not remember results longer than the key limit (their decision is still frozen)', () => {
    const cache = new DecisionCache();
    const long = 'x'.repeat(DECISION_CACHE_MAX_KEY_LENGTH + 1);
    const d = cache.remember(long, decision('a'));
    expect(cache.get(long)).toBeUndefined();
    expect(Object.isFrozen(d.mask)).toBe(true);
  });

  it('stays bounded: when full it starts over', () => {
    const cache = new DecisionCache();
    for (let i = 0; i < DECISION_CACHE_MAX_ENTRIES; i++) cache.remember(`r${i}`, decision(String(i)));
    expect(cache.size).toBe(DECISION_CACHE_MAX_ENTRIES);
    cache.remember('one more', decision('x'));
    expect(cache.size).toBe(1);
    expect(cache.get('r0')).toBeUndefined();
    expect(cache.get('one more')?.reasons).toEqual(['x']);
  });
});
