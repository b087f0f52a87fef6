/** Values frozen whole by `deepFreeze`, and the JSON of those that were serialised. */
const deeplyFrozen = new WeakSet<object>();
const cache = new WeakMap<object, string>();

/**
 * `JSON.stringify(value)`; for a value frozen whole by `deepFreeze` (the decision memo's decisions, cached HTTP
 * requests) the text is computed once and reused. Anything else is serialised every time.
 */
export function frozenJson(value: object): string {
  if (!deeplyFrozen.has(value)) return JSON.stringify(value);
  let json = cache.get(value);
  if (json === undefined) cache.set(value, (json = JSON.stringify(value)));
  return json;
}

/**
 * Whether `value` was frozen whole by `deepFreeze`: it, and everything it holds, can never change (so `frozenJson`
 * serialises it once, and a key built from it may be reused while the same object comes back).
 */
export function isDeeplyFrozen(value: object): boolean {
  return deeplyFrozen.has(value);
}

/** Freezes `value` and everything it holds, so it can be shared (and its JSON cached). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !deeplyFrozen.has(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
    deeplyFrozen.add(value);
  }
  return value;
}
