import type { ApprovalMetrics } from '../metrics.js';

/** Bounds the open server-sent-event and gRPC watch streams, and closes them all at shutdown. */
export class StreamRegistry {
  readonly #max: number;
  readonly #metrics: ApprovalMetrics;
  readonly #open = new Set<() => void>();

  constructor(max: number, metrics: ApprovalMetrics) {
    this.#max = max;
    this.#metrics = metrics;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Registers a stream; `undefined` when the limit is reached. The returned function releases it (idempotent). */
  acquire(close: () => void): (() => void) | undefined {
    if (this.#open.size >= this.#max) return undefined;
    this.#open.add(close);
    this.#metrics.streams.set(this.#open.size);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open.delete(close);
      this.#metrics.streams.set(this.#open.size);
    };
  }

  closeAll(): void {
    for (const close of [...this.#open]) close();
    this.#open.clear();
    this.#metrics.streams.set(0);
  }
}
