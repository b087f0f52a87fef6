import { analyzeSqlSync } from './analyze-sql.js';
import { isTransientParseError } from './pg-parser.js';
import type { SqlAnalysis } from './sql-analysis.js';

export interface SqlAnalysisCacheOptions {
  /** Most analyses kept (least recently used dropped first). Default 1000. */
  readonly maxEntries?: number;
  /** Texts longer than this (in characters) are analysed but not cached. Default 8192. */
  readonly maxTextLength?: number;
}

/**
 * A bounded LRU in front of `analyzeSqlSync`: clients repeat the same statements (ORM queries, prepared
 * statements re-parsed per connection), and parsing costs tens of microseconds while a hit costs well under one.
 * Cached analyses are deeply frozen and shared between callers. Transient failures (the parser restarting after a
 * trap) are not cached.
 */
export class SqlAnalysisCache {
  readonly #entries = new Map<string, SqlAnalysis>();
  readonly #maxEntries: number;
  readonly #maxTextLength: number;

  constructor(options: SqlAnalysisCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#maxTextLength = options.maxTextLength ?? 8192;
    if (!Number.isSafeInteger(this.#maxEntries) || this.#maxEntries < 1)
      throw new RangeError('maxEntries must be >= 1');
  }

  get size(): number {
    return this.#entries.size;
  }

  analyze(text: string): SqlAnalysis {
    const hit = this.#entries.get(text);
    if (hit !== undefined) {
      this.#entries.delete(text);
      this.#entries.set(text, hit);
      return hit;
    }
    const analysis = deepFreeze(analyzeSqlSync(text));
    if (text.length <= this.#maxTextLength && !isTransientParseError(analysis.parse_error)) {
      if (this.#entries.size >= this.#maxEntries) {
        const oldest = this.#entries.keys().next();
        if (oldest.done !== true) this.#entries.delete(oldest.value);
      }
      this.#entries.set(text, analysis);
    }
    return analysis;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
