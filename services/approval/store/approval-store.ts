import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import type { TrustedKeys } from '../../shared/signing/signing-keys.js';
import { approvalIdOf, foldApproval } from '../model/fold.js';
import type { FoldResult } from '../model/fold.js';
import type { ApprovalRecord, HistoryEntry } from '../model/types.js';

export type StoreChange = {
  readonly kind: 'requested' | 'reviewed' | 'decided';
  readonly record: ApprovalRecord;
  readonly entry: HistoryEntry;
};

export type ApprovalStoreOptions = {
  log: Logger;
  /** Most approvals held in memory; beyond it the oldest decided ones are forgotten (the log keeps them). */
  maxApprovals: number;
  /** Most history entries per approval. */
  maxHistory: number;
  /** Most callers waiting for their event to be folded at once. */
  maxWaiters: number;
  /** Approval-service public keys: only decisions signed by one of them count (besides gateway notices). */
  trustedKeys: TrustedKeys;
  /** Event ids remembered as folded, for callers that start waiting after the fact. */
  recentEvents?: number;
};

type Waiter = { resolve: (folded: boolean) => void; timer: NodeJS.Timeout };

/**
 * The approval state of one service instance: every approval's record, folded from the approvals topic in log order
 * (`apply`). Lets API calls wait until their own event is folded (`waitForEvent`) and streams changes to listeners
 * (SSE, gRPC watch, notifications). Everything is bounded.
 */
export class ApprovalStore {
  readonly #opts: ApprovalStoreOptions;
  readonly #records = new Map<string, ApprovalRecord>();
  readonly #waiters = new Map<string, Waiter[]>();
  #waiterCount = 0;
  readonly #recent = new Set<string>();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  #evicted = 0;

  constructor(opts: ApprovalStoreOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#records.size;
  }

  get evicted(): number {
    return this.#evicted;
  }

  get(id: string): ApprovalRecord | undefined {
    return this.#records.get(id);
  }

  /** All records, oldest request first. */
  records(): IterableIterator<ApprovalRecord> {
    return this.#records.values();
  }

  pendingCount(): number {
    let n = 0;
    for (const r of this.#records.values()) if (!r.decision) n++;
    return n;
  }

  /** Folds one decoded event. Never throws. */
  apply(event: Event): FoldResult {
    const id = approvalIdOf(event);
    const result = foldApproval(id === undefined ? undefined : this.#records.get(id), event, {
      maxHistory: this.#opts.maxHistory,
      trustedKeys: this.#opts.trustedKeys,
    });
    if (result.kind === 'renewed') this.#records.set(result.record.request.id, result.record);
    if (result.kind === 'requested' || result.kind === 'reviewed' || result.kind === 'decided') {
      this.#records.set(result.record.request.id, result.record);
      if (this.#records.size > this.#opts.maxApprovals) this.#evictOne();
    }
    this.#remember(event.eventId);
    if (result.kind === 'requested' || result.kind === 'reviewed' || result.kind === 'decided') {
      const change: StoreChange = { kind: result.kind, record: result.record, entry: result.entry };
      for (const listener of this.#listeners) {
        try {
          listener(change);
        } catch (err) {
          logError(this.#opts.log, err, 'approval change listener failed');
        }
      }
    }
    return result;
  }

  /** Resolves true once the event with `eventId` was folded (also if it already was), false after `timeoutMs`. */
  waitForEvent(eventId: string, timeoutMs: number): Promise<boolean> {
    if (this.#recent.has(eventId)) return Promise.resolve(true);
    if (this.#waiterCount >= this.#opts.maxWaiters) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const list = this.#waiters.get(eventId);
          const i = list?.indexOf(waiter) ?? -1;
          if (list && i >= 0) {
            list.splice(i, 1);
            this.#waiterCount--;
            if (list.length === 0) this.#waiters.delete(eventId);
          }
          resolve(false);
        }, timeoutMs),
      };
      const list = this.#waiters.get(eventId) ?? [];
      list.push(waiter);
      this.#waiters.set(eventId, list);
      this.#waiterCount++;
    });
  }

  /** Calls `listener` for every change folded from now on; returns the unsubscribe function. */
  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forgets decided approvals decided before `micros` (memory only; the log keeps them). Returns how many. */
  pruneDecidedBefore(micros: bigint): number {
    let n = 0;
    for (const [id, r] of this.#records) {
      if (r.decision && r.decision.atMicros < micros) {
        this.#records.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Resolves every waiter with false (shutdown). */
  close(): void {
    for (const list of this.#waiters.values()) {
      for (const w of list) {
        clearTimeout(w.timer);
        w.resolve(false);
      }
    }
    this.#waiters.clear();
    this.#waiterCount = 0;
    this.#listeners.clear();
  }

  #remember(eventId: string): void {
    const limit = this.#opts.recentEvents ?? 10_000;
    this.#recent.add(eventId);
    if (this.#recent.size > limit) {
      const oldest = this.#recent.values().next();
      if (!oldest.done) this.#recent.delete(oldest.value);
    }
    const list = this.#waiters.get(eventId);
    if (list) {
      this.#waiters.delete(eventId);
      this.#waiterCount -= list.length;
      for (const w of list) {
        clearTimeout(w.timer);
        w.resolve(true);
      }
    }
  }

  #evictOne(): void {
    let victim: string | undefined;
    for (const [id, r] of this.#records) {
      if (r.decision) {
        victim = id;
        break;
      }
    }
    if (victim === undefined) {
      victim = this.#records.keys().next().value;
      this.#opts.log.warn(
        { maxApprovals: this.#opts.maxApprovals },
        'approval store full of pending approvals; forgetting the oldest',
      );
    }
    if (victim !== undefined) {
      this.#records.delete(victim);
      this.#evicted++;
    }
  }
}
