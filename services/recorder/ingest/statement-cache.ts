/**
 * Request texts by `(session, request id)`, so a decision row can carry the statement it decided. Bounded: the
 * oldest entries are evicted first (decisions follow their requests closely; misses are looked up in ClickHouse).
 */
export class StatementCache {
  readonly #max: number;
  readonly #map = new Map<string, string>();

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  set(key: string, statement: string): void {
    if (this.#max === 0) return;
    this.#map.delete(key);
    this.#map.set(key, statement);
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
    }
  }
}
