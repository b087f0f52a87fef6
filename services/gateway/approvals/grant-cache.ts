import type { PolicyGrant } from '../policy/types.js';

/**
 * Approved grants that may be reused (`input.grants`), learned from the approvals topic. Bounded: expired grants are
 * dropped first, then the oldest. Lookup is by (subject, connection, fingerprint); the policy decides reuse.
 */
export class GrantCache {
  readonly #max: number;
  readonly #byId = new Map<string, PolicyGrant>();
  readonly #byKey = new Map<string, Set<string>>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  get size(): number {
    return this.#byId.size;
  }

  static key(sub: string, connection: string, fingerprint: string): string {
    return `${sub}\u0000${connection}\u0000${fingerprint}`;
  }

  add(grant: PolicyGrant, nowSeconds: number): void {
    if (grant.expires_at <= nowSeconds || grant.fingerprint === '' || grant.sub === '') return;
    this.#delete(grant.id);
    if (this.#byId.size >= this.#max) this.#purge(nowSeconds);
    while (this.#byId.size >= this.#max) {
      const oldest = this.#byId.keys().next();
      if (oldest.done) break;
      this.#delete(oldest.value);
    }
    this.#byId.set(grant.id, grant);
    const key = GrantCache.key(grant.sub, grant.connection, grant.fingerprint);
    const ids = this.#byKey.get(key) ?? new Set<string>();
    ids.add(grant.id);
    this.#byKey.set(key, ids);
  }

  /** Unexpired grants of `sub` on `connection` for `fingerprint`, oldest first. */
  find(sub: string, connection: string, fingerprint: string, nowSeconds: number): PolicyGrant[] {
    const ids = this.#byKey.get(GrantCache.key(sub, connection, fingerprint));
    if (!ids) return [];
    const out: PolicyGrant[] = [];
    for (const id of [...ids]) {
      const g = this.#byId.get(id);
      if (!g || g.expires_at <= nowSeconds) this.#delete(id);
      else out.push(g);
    }
    return out;
  }

  #purge(nowSeconds: number): void {
    for (const [id, g] of this.#byId) if (g.expires_at <= nowSeconds) this.#delete(id);
  }

  #delete(id: string): void {
    const g = this.#byId.get(id);
    if (!g) return;
    this.#byId.delete(id);
    const key = GrantCache.key(g.sub, g.connection, g.fingerprint);
    const ids = this.#byKey.get(key);
    ids?.delete(id);
    if (ids?.size === 0) this.#byKey.delete(key);
  }
}
