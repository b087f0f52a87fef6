import { RecorderStoppedError } from '../errors.js';

export type BatcherOptions = {
  /** Pending items that trigger a write at once. */
  maxRows: number;
  /** Longest time an item waits before a write starts. */
  maxDelayMs: number;
  retryMinMs: number;
  retryMaxMs: number;
};

export type BatcherHooks = {
  /** A write failed; it is retried after `delayMs`. */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
};

type Group<T> = { items: readonly T[]; resolve: () => void; reject: (err: Error) => void };

/**
 * Gathers items from several callers (one per Kafka partition batch) into writes bounded by count and time. Each
 * `add` resolves only after a write that contains its items succeeded, so the caller can commit its offsets then.
 * Writes run one at a time; a failed write is retried with exponential backoff until it succeeds or the batcher is
 * aborted (then the waiting callers are rejected and nothing is committed).
 */
export class Batcher<T> {
  readonly #opts: BatcherOptions;
  readonly #write: (items: T[]) => Promise<void>;
  readonly #hooks: BatcherHooks;
  #pending: Group<T>[] = [];
  #pendingItems = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #draining = false;
  #aborted = false;
  #closed = false;
  #wakeSleep: (() => void) | undefined;

  constructor(opts: BatcherOptions, write: (items: T[]) => Promise<void>, hooks: BatcherHooks = {}) {
    this.#opts = opts;
    this.#write = write;
    this.#hooks = hooks;
  }

  /** Rows waiting for a write (not counting the write in progress). */
  get pending(): number {
    return this.#pendingItems;
  }

  /** Adds items that count as `size` rows (default: one each) towards `maxRows`. */
  add(items: readonly T[], size = items.length): Promise<void> {
    if (this.#closed) return Promise.reject(new RecorderStoppedError());
    if (items.length === 0 || size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ items, resolve, reject });
      this.#pendingItems += size;
      if (this.#draining || this.#pendingItems >= this.#opts.maxRows) this.#kick();
      else this.#timer ??= setTimeout(() => this.#kick(), this.#opts.maxDelayMs);
    });
  }

  /** From now on, write without waiting for more items. */
  drain(): void {
    this.#draining = true;
    this.#kick();
  }

  /**
   * Stops: with `abort`, the write in progress stops retrying and every waiting caller is rejected; without it,
   * pending items are written first (retrying as long as it takes).
   */
  async close(opts: { abort: boolean }): Promise<void> {
    this.#draining = true;
    if (opts.abort) {
      this.#aborted = true;
      this.#wakeSleep?.();
    }
    this.#kick();
    await this.#running;
    this.#closed = true;
    this.#rejectAll(this.#pending.splice(0));
    this.#pendingItems = 0;
    clearTimeout(this.#timer);
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      if (this.#aborted) return;
      const groups = this.#pending.splice(0);
      this.#pendingItems = 0;
      if (groups.length > 0) await this.#writeWithRetry(groups);
    } while (this.#again || (this.#draining && this.#pending.length > 0));
  }

  async #writeWithRetry(groups: Group<T>[]): Promise<void> {
    const items = groups.flatMap((g) => g.items);
    let delay = this.#opts.retryMinMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#write(items);
        for (const g of groups) g.resolve();
        return;
      } catch (err) {
        if (this.#aborted) {
          this.#rejectAll(groups);
          return;
        }
        this.#hooks.onRetry?.(err, attempt, delay);
        await this.#sleep(delay);
        if (this.#aborted) {
          this.#rejectAll(groups);
          return;
        }
        delay = Math.min(delay * 2, this.#opts.retryMaxMs);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeSleep = done;
    }).finally(() => {
      this.#wakeSleep = undefined;
    });
  }

  #rejectAll(groups: readonly Group<T>[]): void {
    for (const g of groups) g.reject(new RecorderStoppedError());
  }
}
