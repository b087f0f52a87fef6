import { z } from 'zod';
import type { PolicyEngine } from '../policy/engine.js';
import type { MemoDeclaration, MemoInputPath } from '../policy/memo-declaration.js';
import type { PolicyInput, PolicyResult } from '../policy/types.js';
import { deepFreeze, frozenJson, isDeeplyFrozen } from './frozen-json.js';

/** `decisionMemo` in the gateway configuration. */
export const decisionMemoSchema = z
  .strictObject({
    /** Decisions remembered per node (least recently used first out); 0 turns the memo off. */
    maxEntries: z.number().int().min(0).max(1_000_000).default(10_000),
    /** A request whose memo key is longer than this (characters) is always evaluated, never remembered. */
    maxKeyLength: z.number().int().min(256).max(1_048_576).default(16_384),
  })
  .prefault({});

export type DecisionMemoOptions = z.output<typeof decisionMemoSchema>;

/** `hit`: reused; `miss`: evaluated and remembered; `bypass`: evaluated, never memoisable (see `memoKey`). */
export type MemoOutcome = 'hit' | 'miss' | 'bypass';

/** What the memo's engine returns: on a hit, `memoHit` is true (recorded on the `decision` event). */
export type MemoisedResult = PolicyResult & { readonly memoHit?: boolean };

/**
 * The decision memo of one node: a bounded LRU of decisions keyed by everything the policy's decision depends on,
 * as the bundle declares it (`gatehouse.memo`, policy/memo-declaration.ts): the engine (its revision and identity:
 * a policy swap never serves an old decision), the time bucket, the connection, the declared input paths and the
 * whole `input.request`. A bundle without a declaration, a request offered grants, a failed evaluation and an
 * oversized key are never remembered. Every request still gets its own `decision` event; the pipeline marks a
 * reused one (`memo_hit`).
 */
export class DecisionMemo {
  readonly #opts: DecisionMemoOptions;
  readonly #onOutcome: (outcome: MemoOutcome) => void;
  readonly #entries = new Map<string, RememberedResult>();
  readonly #engines = new WeakMap<PolicyEngine, PolicyEngine>();
  #current: PolicyEngine | undefined;
  #generation = 0;
  readonly #keys = new MemoKeyCache();

  constructor(opts: DecisionMemoOptions, onOutcome: (outcome: MemoOutcome) => void = () => undefined) {
    this.#opts = opts;
    this.#onOutcome = onOutcome;
  }

  /** Decisions remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * `engine` evaluating through the memo. A different engine than last time (a policy swap) starts a new
   * generation: what the old one decided is dropped and can never be served again.
   */
  engine(engine: PolicyEngine): PolicyEngine {
    if (engine !== this.#current) {
      this.#current = engine;
      this.#generation++;
      this.#entries.clear();
    }
    const known = this.#engines.get(engine);
    if (known) return known;
    const memo = engine.memo ?? null;
    const wrapped: PolicyEngine =
      memo === null || this.#opts.maxEntries === 0
        ? engine
        : {
            revision: engine.revision,
            entrypoint: engine.entrypoint,
            memo,
            evaluate: (input) => this.#evaluate(engine, memo, input),
          };
    this.#engines.set(engine, wrapped);
    return wrapped;
  }

  #evaluate(engine: PolicyEngine, memo: MemoDeclaration, input: PolicyInput): MemoisedResult {
    const started = performance.now();
    const key = this.#keys.keyOf(
      `${this.#generation}\u0000${engine.revision}`,
      memo,
      input,
      this.#opts.maxKeyLength,
    );
    if (key === null) {
      this.#onOutcome('bypass');
      return engine.evaluate(input);
    }
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      this.#onOutcome('hit');
      return hitOf(cached, (performance.now() - started) * 1000);
    }
    const result = engine.evaluate(input);
    if (result.failedClosed || engine !== this.#current) {
      this.#onOutcome('bypass');
      return result;
    }
    this.#onOutcome('miss');
    // Remembered decisions are shared by every hit: nobody may change one.
    this.#entries.set(key, Object.freeze({ ...result, decision: deepFreeze(result.decision) }));
    if (this.#entries.size > this.#opts.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    return result;
  }
}

/** What the memo keeps: never a failed evaluation. */
type RememberedResult = Extract<PolicyResult, { failedClosed: false }>;

/**
 * A remembered decision as a hit returns it: a literal of one shape (spreading the remembered result was a
 * megamorphic copy on every hit).
 */
function hitOf(r: RememberedResult, evalMicros: number): MemoisedResult {
  const { decision, revision, shadow } = r;
  return shadow === undefined
    ? { failedClosed: false, decision, revision, evalMicros, memoHit: true }
    : { failedClosed: false, decision, revision, evalMicros, shadow, memoHit: true };
}

/**
 * A `policy()` getter that evaluates through `memo`: hand it to the listeners in place of the plain getter.
 */
export function memoisedPolicy(current: () => PolicyEngine, memo: DecisionMemo): () => PolicyEngine {
  return () => memo.engine(current());
}

/**
 * The memo key of `input` under a declaration, or null when the request must be evaluated: it was offered grants
 * (they are compared with the time), or its key is longer than `maxLength`. The key is the JSON the policy sees
 * for each part, so two requests share a key only when every part the policy reads is identical.
 */
export function memoKey(
  prefix: string,
  memo: MemoDeclaration,
  input: PolicyInput,
  maxLength: number,
): string | null {
  if (input.grants.length > 0) return null;
  const bucket = memo.timeBucketSeconds === 0 ? 0 : Math.floor(input.time.unix / memo.timeBucketSeconds);
  const parts: unknown[] = [bucket, input.connection.name, input.connection.protocol];
  for (const path of memo.inputs) parts.push(path, pick(input, path) ?? null);
  // `JSON.stringify([...parts, input.request])`, with the request's JSON made once when it is frozen (cached).
  const key = `${prefix}\u0000${JSON.stringify(parts).slice(0, -1)},${frozenJson(input.request)}]`;
  return key.length > maxLength ? null : key;
}

/** What a request's memo key was made of: every part the same primitive or the same deep-frozen object means the same key. */
type KeyParts = {
  readonly memo: MemoDeclaration;
  readonly maxLength: number;
  readonly values: readonly unknown[];
  /** The key by (deep-frozen) `input.request`, with the prefix it was made under. */
  readonly byRequest: WeakMap<object, { prefix: string; key: string | null }>;
};

/**
 * `memoKey` without rebuilding the key for a request that repeats: a keep-alive client sends the same request (one
 * frozen object, `HttpRequestCache`) under the same identity (one frozen object per verified token) again and again,
 * and building and hashing the ~400-character key was 5-6 % of the HTTP proxy's CPU. A key is reused only when the
 * request object, the prefix, the time bucket, the connection and every declared input part are the same — each a
 * primitive compared by value or an object frozen whole (`deepFreeze`: it cannot have changed), compared by
 * identity. Anything else (a request with a body, an identity or tags not frozen) is keyed by `memoKey` every time.
 */
class MemoKeyCache {
  /** By `input.identity` (a handle only: what the key holds is checked part by part). */
  readonly #byIdentity = new WeakMap<object, KeyParts>();

  keyOf(prefix: string, memo: MemoDeclaration, input: PolicyInput, maxLength: number): string | null {
    const request = input.request;
    if (input.grants.length > 0 || !isDeeplyFrozen(request)) return memoKey(prefix, memo, input, maxLength);
    let parts = this.#byIdentity.get(input.identity);
    if (parts === undefined || !sameParts(parts, memo, input, maxLength)) {
      const values = partsOf(memo, input);
      if (values === undefined) return memoKey(prefix, memo, input, maxLength);
      parts = { memo, maxLength, values, byRequest: new WeakMap() };
      this.#byIdentity.set(input.identity, parts);
    }
    const known = parts.byRequest.get(request);
    if (known !== undefined && known.prefix === prefix) return known.key;
    const key = memoKey(prefix, memo, input, maxLength);
    parts.byRequest.set(request, { prefix, key });
    return key;
  }
}

const bucketOf = (memo: MemoDeclaration, input: PolicyInput): number =>
  memo.timeBucketSeconds === 0 ? 0 : Math.floor(input.time.unix / memo.timeBucketSeconds);

/** The key's parts other than the request and prefix, or undefined when one is an object that could change. */
function partsOf(memo: MemoDeclaration, input: PolicyInput): unknown[] | undefined {
  const values: unknown[] = [bucketOf(memo, input), input.connection.name, input.connection.protocol];
  for (const path of memo.inputs) {
    const v = pick(input, path);
    if (v !== null && typeof v === 'object' && !isDeeplyFrozen(v)) return undefined;
    values.push(v);
  }
  return values;
}

function sameParts(parts: KeyParts, memo: MemoDeclaration, input: PolicyInput, maxLength: number): boolean {
  const v = parts.values;
  if (parts.memo !== memo || parts.maxLength !== maxLength) return false;
  if (v[0] !== bucketOf(memo, input) || v[1] !== input.connection.name || v[2] !== input.connection.protocol)
    return false;
  const inputs = memo.inputs;
  for (let i = 0; i < inputs.length; i++) if (v[i + 3] !== pick(input, inputs[i]!)) return false;
  return true;
}

/** Declared paths split once (`identity.groups` → root and field): a handful per bundle. */
const splitPaths = new Map<string, [keyof PolicyInput, string | undefined]>();

function pick(input: PolicyInput, path: MemoInputPath): unknown {
  let split = splitPaths.get(path);
  if (split === undefined) {
    split = path.split('.') as [keyof PolicyInput, string | undefined];
    if (splitPaths.size < 1_000) splitPaths.set(path, split);
  }
  const [root, field] = split;
  const value: unknown = input[root];
  if (field === undefined) return value;
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[field] : undefined;
}
