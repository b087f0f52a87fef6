/** Default bound on entries kept by the dev IdP's store. */
export const DEFAULT_MAX_ENTRIES = 1000;

type Entry = { payload: Record<string, unknown>; expiresAt: number };

/** The adapter contract of oidc-provider (one instance per model name). */
export type OidcAdapter = {
  upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Record<string, unknown> | undefined>;
  findByUid(uid: string): Promise<Record<string, unknown> | undefined>;
  findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
};

/**
 * A bounded, per-provider in-memory store for oidc-provider. JWT access tokens are not stored at all, so in
 * practice this holds little; it replaces the library's process-global default store (shared by every provider in
 * the process) and its start-up warning. Oldest entries are evicted beyond `maxEntries`. Dev/test only.
 */
export function createMemoryAdapterFactory(maxEntries = DEFAULT_MAX_ENTRIES): (model: string) => OidcAdapter {
  const store = new Map<string, Entry>();
  const now = () => Date.now();

  function get(key: string): Entry | undefined {
    const entry = store.get(key);
    if (entry && entry.expiresAt <= now()) {
      store.delete(key);
      return undefined;
    }
    return entry;
  }

  function findWhere(model: string, field: string, value: string): Record<string, unknown> | undefined {
    for (const [key, entry] of store) {
      if (key.startsWith(`${model}:`) && entry.payload[field] === value && entry.expiresAt > now()) {
        return entry.payload;
      }
    }
    return undefined;
  }

  return (model: string): OidcAdapter => {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert(id, payload, expiresIn) {
        const k = key(id);
        store.delete(k);
        store.set(k, { payload, expiresAt: expiresIn ? now() + expiresIn * 1000 : Infinity });
        while (store.size > maxEntries) {
          const oldest = store.keys().next();
          if (oldest.done) break;
          store.delete(oldest.value);
        }
        return Promise.resolve();
      },
      find: (id) => Promise.resolve(get(key(id))?.payload),
      findByUid: (uid) => Promise.resolve(findWhere(model, 'uid', uid)),
      findByUserCode: (userCode) => Promise.resolve(findWhere(model, 'userCode', userCode)),
      consume(id) {
        const entry = get(key(id));
        if (entry) entry.payload['consumed'] = Math.floor(now() / 1000);
        return Promise.resolve();
      },
      destroy(id) {
        store.delete(key(id));
        return Promise.resolve();
      },
      revokeByGrantId(grantId) {
        for (const [k, entry] of store) if (entry.payload['grantId'] === grantId) store.delete(k);
        return Promise.resolve();
      },
    };
  };
}
