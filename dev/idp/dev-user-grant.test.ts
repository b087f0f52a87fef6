import { describe, expect, it } from 'vitest';
import { parseDevUserParams } from './dev-user-grant.js';
import { createMemoryAdapterFactory } from './memory-adapter.js';
import { resourceIndicatorFor } from './start-idp.js';

describe('parseDevUserParams', () => {
  it('accepts a user with repeated groups, email, agent flag and ttl', () => {
    expect(
      parseDevUserParams(
        { user: 'alice', groups: ['dba', 'eng', 'dba'], email: 'a@example.test', agent: 'true', ttl: '60' },
        3600,
      ),
    ).toEqual({
      user: 'alice',
      groups: ['dba', 'eng'],
      email: 'a@example.test',
      agent: true,
      ttlSeconds: 60,
    });
    expect(parseDevUserParams({ user: 'bob', groups: 'ops' }, 3600)).toEqual({
      user: 'bob',
      groups: ['ops'],
      email: undefined,
      agent: false,
      ttlSeconds: undefined,
    });
  });

  it.each([
    ['missing user', {}],
    ['user with a space', { user: 'a b' }],
    ['user twice', { user: ['a', 'b'] }],
    ['bad group', { user: 'a', groups: ['ok', 'not ok'] }],
    ['too many groups', { user: 'a', groups: Array.from({ length: 65 }, (_, i) => `g${i}`) }],
    ['bad email', { user: 'a', email: 'nope' }],
    ['bad agent', { user: 'a', agent: 'yes' }],
    ['ttl zero', { user: 'a', ttl: '0' }],
    ['ttl above max', { user: 'a', ttl: '3601' }],
    ['ttl not an integer', { user: 'a', ttl: '1.5' }],
  ])('rejects %s with invalid_request', (_name, params) => {
    expect(() => parseDevUserParams(params, 3600)).toThrow(
      expect.objectContaining({ error: 'invalid_request' }),
    );
  });
});

describe('resourceIndicatorFor', () => {
  it('uses an absolute URI as is and wraps a plain name in a URN', () => {
    expect(resourceIndicatorFor('https://api.example.test/')).toBe('https://api.example.test/');
    expect(resourceIndicatorFor('gatehouse')).toBe('urn:gatehouse:audience:gatehouse');
  });
});

describe('memory adapter', () => {
  it('is bounded, expires entries and finds by uid', async () => {
    const adapter = createMemoryAdapterFactory(2)('Session');
    await adapter.upsert('a', { uid: 'u-a' }, 60);
    await adapter.upsert('b', { uid: 'u-b' }, 60);
    await adapter.upsert('c', { uid: 'u-c' }, 60);
    expect(await adapter.find('a')).toBeUndefined();
    expect(await adapter.findByUid('u-c')).toEqual({ uid: 'u-c' });
    await adapter.upsert('d', { grantId: 'g' }, 0.001);
    await new Promise((r) => setTimeout(r, 5));
    expect(await adapter.find('d')).toBeUndefined();
  });
});
