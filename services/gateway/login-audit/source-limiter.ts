/** One source's token bucket and the refusals it held back since its last recorded event. */
type Bucket = { tokens: number; at: number; suppressed: number; reasons: Map<string, number> };

export type SourceLimiterOptions = {
  /** Refusals recorded one by one from a source in a burst. */
  burst: number;
  /** Refusals per second recorded one by one from a source after the burst. */
  perSecond: number;
  /** Sources tracked at once; refusals from further sources share the overflow source `*`. */
  maxSources: number;
  now?: () => number;
};

/** What the limiter says about one refusal. */
export type Admission =
  | { readonly record: true; readonly source: string; readonly suppressed: number }
  | { readonly record: false; readonly source: string };

/** Refusals held back for one source, to be recorded as one `rate_limited` summary. */
export type Suppressed = {
  readonly source: string;
  readonly count: number;
  readonly reasons: ReadonlyMap<string, number>;
};

export const OVERFLOW_SOURCE = '*';

/**
 * A per-source rate limit for refused-login events (pure apart from the injected clock). A flood of refusals from
 * one address is recorded one by one up to `burst`, then at `perSecond`; the rest are counted and reported with
 * the source's next recorded refusal (`suppressed`) or, when none comes, by `drain()` as a summary. Nothing is
 * dropped uncounted; the state is bounded by `maxSources` (further sources share one overflow bucket).
 */
export class SourceLimiter {
  readonly #o: Required<SourceLimiterOptions>;
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: SourceLimiterOptions) {
    this.#o = { now: () => Date.now(), ...opts };
  }

  get sources(): number {
    return this.#buckets.size;
  }

  admit(source: string, reason: string): Admission {
    const now = this.#o.now();
    let key = source;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.#o.maxSources) key = OVERFLOW_SOURCE;
      bucket = this.#buckets.get(key);
      if (!bucket) {
        bucket = { tokens: this.#o.burst, at: now, suppressed: 0, reasons: new Map() };
        this.#buckets.set(key, bucket);
      }
    }
    bucket.tokens = Math.min(this.#o.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#o.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      const suppressed = bucket.suppressed;
      bucket.suppressed = 0;
      bucket.reasons.clear();
      return { record: true, source: key, suppressed };
    }
    bucket.suppressed++;
    bucket.reasons.set(reason, (bucket.reasons.get(reason) ?? 0) + 1);
    return { record: false, source: key };
  }

  /**
   * Takes the held-back counts of every source (for summary events) and forgets sources whose bucket has refilled
   * with nothing held back, so the table only holds active sources.
   */
  drain(): Suppressed[] {
    const now = this.#o.now();
    const out: Suppressed[] = [];
    for (const [source, b] of this.#buckets) {
      if (b.suppressed > 0) {
        out.push({ source, count: b.suppressed, reasons: new Map(b.reasons) });
        b.suppressed = 0;
        b.reasons.clear();
      }
      const tokens = Math.min(this.#o.burst, b.tokens + ((now - b.at) / 1000) * this.#o.perSecond);
      if (tokens >= this.#o.burst) this.#buckets.delete(source);
    }
    return out;
  }
}
