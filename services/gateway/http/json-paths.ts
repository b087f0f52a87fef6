/**
 * Field paths for masking JSON bodies (a copy of services/gateway/mcp/json-paths.ts until both move to shared code), a small JSONPath subset: `$.customers[*].email`,
 * `customers.*.card_number`, `items[0].secret` (the leading `$.` is optional). Segments: a key, `*` (every key or
 * element), `[*]`, `[n]`, `['key']`. Pure.
 */
export type PathSegment =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'index'; readonly index: number };

const SEGMENT = /^(?:\.?([A-Za-z_$][\w$-]*)|\.?\*|\[\*\]|\[(\d+)\]|\['([^']*)'\])/;

/** Parses one path; throws on a path it cannot read (the policy decision then fails closed upstream). */
export function parsePath(path: string): PathSegment[] {
  let rest = path.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  const out: PathSegment[] = [];
  while (rest.length > 0) {
    const m = SEGMENT.exec(rest);
    if (!m) throw new Error(`unreadable field path ${JSON.stringify(path)}`);
    if (m[1] !== undefined) out.push({ kind: 'key', key: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'index', index: Number(m[2]) });
    else if (m[3] !== undefined) out.push({ kind: 'key', key: m[3] });
    else out.push({ kind: 'any' });
    rest = rest.slice(m[0].length);
  }
  if (out.length === 0) throw new Error('an empty field path');
  return out;
}

/**
 * Replaces every value at `path` inside `value` (mutating it) by `replacement`; returns how many were replaced.
 * Only existing values are replaced (no keys are added).
 */
export function replaceAtPath(value: unknown, path: readonly PathSegment[], replacement: unknown): number {
  if (path.length === 0 || value === null || typeof value !== 'object') return 0;
  const [head, ...tail] = path as [PathSegment, ...PathSegment[]];
  const container = value as Record<string, unknown> | unknown[];
  const keys: (string | number)[] =
    head.kind === 'any'
      ? Array.isArray(container)
        ? container.map((_, i) => i)
        : Object.keys(container)
      : head.kind === 'index'
        ? Array.isArray(container) && head.index < container.length
          ? [head.index]
          : []
        : !Array.isArray(container) && Object.hasOwn(container, head.key)
          ? [head.key]
          : [];
  let n = 0;
  for (const k of keys) {
    if (tail.length === 0) {
      (container as Record<string | number, unknown>)[k] = replacement;
      n++;
    } else n += replaceAtPath((container as Record<string | number, unknown>)[k], tail, replacement);
  }
  return n;
}
