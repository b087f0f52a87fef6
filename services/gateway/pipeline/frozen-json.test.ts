import { describe, expect, it } from 'vitest';
import { deepFreeze, frozenJson } from './frozen-json.js';

describe('frozenJson', () => {
  it('serialises a deeply frozen value once; anything else every time', () => {
    const shared = deepFreeze({ a: [1, { b: 'x' }] });
    expect(Object.isFrozen(shared.a[1])).toBe(true);
    expect(frozenJson(shared)).toBe('{"a":[1,{"b":"x"}]}');
    expect(frozenJson(shared)).toBe(frozenJson(shared));
    const open = { a: [1] };
    expect(frozenJson(open)).toBe('{"a":[1]}');
    open.a.push(2);
    expect(frozenJson(open)).toBe('{"a":[1,2]}');
  });

  it('does not trust a shallow freeze: nested values frozen later are still serialised as they are', () => {
    const inner = { n: 1 };
    const shallow = Object.freeze({ inner });
    expect(frozenJson(shallow)).toBe('{"inner":{"n":1}}');
    inner.n = 2;
    expect(frozenJson(shallow)).toBe('{"inner":{"n":2}}');
    deepFreeze(shallow);
    expect(Object.isFrozen(inner)).toBe(true);
    expect(frozenJson(shallow)).toBe('{"inner":{"n":2}}');
  });
});
