import { createHash } from 'node:crypto';
import type { Identity } from '../../shared/identity/index.js';
import { deepFreeze } from '../pipeline/frozen-json.js';

export type VerifiedTokensOptions = {
  /** Most time a verification is reused (0: verify every request). */
  readonly maxAgeMs: number;
  /** Most tokens remembered; the oldest go first. */
  readonly maxEntries: number;
  readonly now?: () => number;
};

/** The sha256 of a bearer token (hex): how the proxy keys a token without keeping it. Computed once per request. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The `exp` claim (seconds) of a token that already verified, or undefined. */
function expiryMs(token: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verified bearer tokens, reused for `maxAgeMs` and never past their `exp`: a keep-alive client sends the same
 * token with every request, and verifying its signature each time was the proxy's largest per-request cost after
 * policy. Only verifications that succeeded are kept (a refused token is checked, recorded and refused every time);
 * keys are sha256 digests, never the tokens. Bounded by `maxEntries` (oldest out first).
 */
export class VerifiedTokens {
  readonly #o: VerifiedTokensOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, { identity: Identity; untilMs: number }>();

  constructor(o: VerifiedTokensOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** The identity of `token`: from an earlier verification still fresh, else from `verify` (kept when it succeeds). */
  async verify(
    token: string,
    verify: (token: string) => Promise<Identity>,
    key: string = tokenDigest(token),
  ): Promise<Identity> {
    if (this.#o.maxAgeMs === 0) return verify(token);
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && hit.untilMs > now) return hit.identity;
    if (hit) this.#entries.delete(key);
    // Shared by every request of the token until it expires here, so frozen whole: nobody may change it, and the
    // decision memo can reuse a key made of its fields (pipeline/decision-memo.ts).
    const identity = deepFreeze(await verify(token));
    const untilMs = Math.min(now + this.#o.maxAgeMs, expiryMs(token) ?? now);
    if (untilMs > now) {
      if (this.#entries.size >= this.#o.maxEntries) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      this.#entries.set(key, { identity, untilMs });
    }
    return identity;
  }

  get size(): number {
    return this.#entries.size;
  }
}
