import { describe, expect, it } from 'vitest';
import type { PolicyGrant } from '../policy/types.js';
import { GrantCache } from './grant-cache.js';

const grant = (id: string, over: Partial<PolicyGrant> = {}): PolicyGrant => ({
  id,
  sub: 'alice',
  connection: 'demo-pg',
  fingerprint: 'f1',
  groups: ['dba'],
  approvals: 1,
  approved_at: 1000,
  expires_at: 1300,
  ...over,
});

describe('grant cache', () => {
  it('finds unexpired grants by subject, connection and fingerprint only', () => {
    const c = new GrantCache(10);
    c.add(grant('a'), 1000);
    c.add(grant('b', { sub: 'bob' }), 1000);
    c.add(grant('c', { connection: 'other' }), 1000);
    c.add(grant('d', { fingerprint: 'f2' }), 1000);
    expect(c.find('alice', 'demo-pg', 'f1', 1100).map((g) => g.id)).toEqual(['a']);
    expect(c.find('alice', 'demo-pg', 'f1', 1300)).toEqual([]); // void at expires_at
    expect(c.size).toBe(3);
  });

  it('ignores grants that are already expired or unbound', () => {
    const c = new GrantCache(10);
    c.add(grant('a', { expires_at: 999 }), 1000);
    c.add(grant('b', { fingerprint: '' }), 1000);
    expect(c.size).toBe(0);
  });

  it('stays within its bound: expired grants go first, then the oldest', () => {
    const c = new GrantCache(2);
    c.add(grant('a', { expires_at: 1100 }), 1000);
    c.add(grant('b'), 1000);
    c.add(grant('c'), 1200); // 'a' expired by now
    expect(c.find('alice', 'demo-pg', 'f1', 1200).map((g) => g.id)).toEqual(['b', 'c']);
    c.add(grant('d'), 1200);
    expect(c.size).toBe(2);
    expect(c.find('alice', 'demo-pg', 'f1', 1200).map((g) => g.id)).toEqual(['c', 'd']);
  });

  it('replaces a grant learned twice', () => {
    const c = new GrantCache(5);
    c.add(grant('a'), 1000);
    c.add(grant('a', { expires_at: 2000 }), 1000);
    expect(c.find('alice', 'demo-pg', 'f1', 1500).map((g) => g.expires_at)).toEqual([2000]);
  });
});
