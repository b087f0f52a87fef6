import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../identity/index.js';
import { WebSessionStore } from './session-store.js';

const who = (sub: string): Identity => ({
  sub,
  email: '',
  groups: ['soc'],
  agent: false,
  issuer: 'https://idp',
  client_id: 'gatehouse-web',
});

function store(opts: { ttlMs?: number; maxSessions?: number } = {}) {
  let now = 1_000;
  const s = new WebSessionStore({
    key: randomBytes(32),
    ttlMs: opts.ttlMs ?? 60_000,
    maxSessions: opts.maxSessions ?? 10,
    now: () => now,
  });
  return { s, advance: (ms: number) => (now += ms) };
}

describe('WebSessionStore', () => {
  it('finds a session by its signed cookie, and nothing for a forged or altered one', () => {
    const { s } = store();
    const { cookie } = s.create(who('sam'));
    expect(s.lookup(cookie)?.identity.sub).toBe('sam');
    const [id, mac] = cookie.split('.');
    expect(s.lookup(`${id}.${mac!.slice(0, -2)}AA`)).toBeUndefined();
    expect(s.lookup(`${id!.slice(0, -2)}AA.${mac}`)).toBeUndefined();
    expect(s.lookup(id)).toBeUndefined();
    expect(s.lookup(undefined)).toBeUndefined();
    expect(s.lookup('x'.repeat(10_000))).toBeUndefined();
    // Another process's key signs differently.
    expect(
      new WebSessionStore({ key: randomBytes(32), ttlMs: 1, maxSessions: 1 }).lookup(cookie),
    ).toBeUndefined();
  });

  it('ends sessions at their lifetime and on logout', () => {
    const { s, advance } = store({ ttlMs: 1_000 });
    const a = s.create(who('a'));
    const b = s.create(who('b'));
    s.destroy(b.cookie);
    expect(s.lookup(b.cookie)).toBeUndefined();
    advance(999);
    expect(s.lookup(a.cookie)).toBeDefined();
    advance(1);
    expect(s.lookup(a.cookie)).toBeUndefined();
  });

  it('is bounded: the oldest session goes first', () => {
    const { s } = store({ maxSessions: 3 });
    const cookies = ['a', 'b', 'c', 'd'].map((n) => s.create(who(n)).cookie);
    expect(s.size).toBe(3);
    expect(s.lookup(cookies[0])).toBeUndefined();
    expect(s.lookup(cookies[3])?.identity.sub).toBe('d');
  });
});
