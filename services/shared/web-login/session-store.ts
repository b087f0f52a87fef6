import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../identity/index.js';

export type WebSession = { readonly identity: Identity; readonly expiresAt: number };

/**
 * Server-side web sessions: the cookie holds only a random id and its HMAC (so a forged or guessed id is refused
 * before any lookup); the identity stays here. Bounded: at most `maxSessions` (the oldest is evicted first) and
 * each lives `ttlMs` at most (no sliding renewal: a new login is needed after that).
 */
export class WebSessionStore {
  readonly #sessions = new Map<string, WebSession>();
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(opts: { key: Buffer; ttlMs: number; maxSessions: number; now?: () => number }) {
    this.#key = opts.key;
    this.#ttlMs = opts.ttlMs;
    this.#max = opts.maxSessions;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Creates a session and returns the cookie value for it. */
  create(identity: Identity): { cookie: string; expiresAt: number } {
    this.#sweep();
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next();
      if (oldest.done) break;
      this.#sessions.delete(oldest.value);
    }
    const id = randomBytes(32).toString('base64url');
    const expiresAt = this.#now() + this.#ttlMs;
    this.#sessions.set(id, { identity, expiresAt });
    return { cookie: `${id}.${this.#sign(id)}`, expiresAt };
  }

  /** The live session a cookie value stands for, if any. */
  lookup(cookie: string | undefined): WebSession | undefined {
    const id = this.#verify(cookie);
    if (id === undefined) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  destroy(cookie: string | undefined): void {
    const id = this.#verify(cookie);
    if (id !== undefined) this.#sessions.delete(id);
  }

  #sign(id: string): string {
    return createHmac('sha256', this.#key).update(id).digest('base64url');
  }

  #verify(cookie: string | undefined): string | undefined {
    if (cookie === undefined || cookie.length > 200) return undefined;
    const dot = cookie.indexOf('.');
    if (dot <= 0) return undefined;
    const id = cookie.slice(0, dot);
    const mac = Buffer.from(cookie.slice(dot + 1));
    const expected = Buffer.from(this.#sign(id));
    return mac.length === expected.length && timingSafeEqual(mac, expected) ? id : undefined;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(id);
  }
}
