import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import { microsNow } from '../log/approval-events.js';
import { dueDecision } from '../model/decision.js';
import type { DecisionDraft } from '../model/decision.js';
import type { ApprovalStore } from '../store/approval-store.js';
import type { ReviewDesk } from './review-desk.js';

export type DecisionSweeperOptions = {
  store: ApprovalStore;
  desk: ReviewDesk;
  log: Logger;
  intervalMs: number;
  /** See `limits.decideGraceMs`. */
  graceMs: number;
  /** This instance acts this long after an approval is due (a random part of `limits.expiryJitterMs`). */
  delayMs: number;
  /** An approval this instance tried to decide is not tried again sooner than this. */
  retryMs: number;
};

/**
 * Enforces expiry when nobody acts, and publishes decisions the reviews settled but nobody published (the accepting
 * instance died): every `intervalMs`, each pending approval that is due gets its `approval.decided`. Runs only once
 * the instance has read the log to its end. Several instances may do it at once; the first decision wins.
 */
export class DecisionSweeper {
  readonly #o: DecisionSweeperOptions;
  readonly #tried = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(opts: DecisionSweeperOptions) {
    this.#o = opts;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.sweep(), this.#o.intervalMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #decide(id: string, draft: DecisionDraft): Promise<void> {
    this.#tried.set(id, Date.now());
    const current = this.#o.store.get(id);
    if (!current || current.decision) return;
    try {
      await this.#o.desk.publishDecision(current, draft, 'sweep');
    } catch (err) {
      logError(this.#o.log, err, 'could not publish a due decision; will retry', {
        level: 'warn',
        approval: id,
      });
    }
  }

  /** One pass (exposed for tests). */
  async sweep(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const now = microsNow() - BigInt(this.#o.delayMs) * 1000n;
      const wall = Date.now();
      for (const [id, at] of this.#tried) if (wall - at > this.#o.retryMs) this.#tried.delete(id);
      const due = [];
      for (const record of this.#o.store.records()) {
        if (record.decision || this.#tried.has(record.request.id)) continue;
        const draft = dueDecision(record, now, BigInt(this.#o.graceMs) * 1000n);
        if (draft) due.push({ record, draft });
      }
      // In chunks, so a backlog (e.g. after an outage) neither runs one by one nor floods the publisher.
      for (let i = 0; i < due.length; i += 100) {
        await Promise.all(
          due.slice(i, i + 100).map(({ record, draft }) => this.#decide(record.request.id, draft)),
        );
      }
    } finally {
      this.#running = false;
    }
  }
}
