import type { ApprovalRequested, SecurityEvent } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from '../../shared/events/codec.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { HeldRequest } from '../../shared/signing/decision-signature.js';
import { noticeEvent } from './approval-notices.js';
import type { NoticeKind } from './approval-notices.js';
import type { ApprovalOutcome } from './waiter-types.js';

/** One request this node holds for approval. */
export type Held = {
  resolve: (o: ApprovalOutcome) => void;
  timer: NodeJS.Timeout;
  /** What this node knew when it held the request: what a decision must match. */
  request: HeldRequest;
  requested: ApprovalRequested;
  policyRevision: string;
  /** Events of this approval seen on the topic (the next one this node publishes takes seq + 1). */
  events: bigint;
  onRefused: ((event: SecurityEvent) => void) | undefined;
  /** Refused decisions recorded for this request (bounded by `maxRefusalsPerRequest`). */
  refused: number;
};

export type HeldRequestsOptions = {
  publisher: EventPublisher;
  /** Where the gateway's notices go (the approval requests topic). */
  topic: string;
  log: Logger;
  now: () => number;
};

/**
 * The requests a node holds for approval, by approval id. Settling one ends its wait exactly once (its expiry timer
 * cleared) and, when the node stops waiting on its own (`abandoned`, `waited`), tells the approvals topic why.
 */
export class HeldRequests {
  readonly #o: HeldRequestsOptions;
  readonly #held = new Map<string, Held>();

  constructor(opts: HeldRequestsOptions) {
    this.#o = opts;
  }

  get size(): number {
    return this.#held.size;
  }

  get(approvalId: string): Held | undefined {
    return this.#held.get(approvalId);
  }

  ids(): string[] {
    return [...this.#held.keys()];
  }

  add(approvalId: string, held: Held): void {
    this.#held.set(approvalId, held);
  }

  /** Ends the wait; `notice` (if any) tells the approvals topic why nobody waits any more. */
  settle(approvalId: string, outcome: ApprovalOutcome, notice?: NoticeKind): void {
    const held = this.#held.get(approvalId);
    if (!held) return;
    this.#held.delete(approvalId);
    clearTimeout(held.timer);
    held.resolve(outcome);
    if (notice) this.#publishNotice(held, notice, outcome.reason);
  }

  /** Renews the hold lease of every held request: a `holding` notice each, valid for `leaseMs` from now. */
  renewAll(leaseMs: number): void {
    for (const held of this.#held.values()) this.renew(held, leaseMs);
  }

  /** Renews one hold lease (`holding` notice until now + `leaseMs`). */
  renew(held: Held, leaseMs: number): void {
    const holdUntilMicros = BigInt(this.#o.now() + leaseMs) * 1000n;
    this.#publishNotice(held, 'holding', `held by node ${held.requested.nodeId}`, holdUntilMicros);
  }

  /** Best effort (batched): a lost notice only means the approval ends `abandoned` at expiry (or lease end) instead. */
  #publishNotice(held: Held, kind: NoticeKind, reason: string, holdUntilMicros?: bigint): void {
    const event = noticeEvent(held.requested, kind, reason, {
      seq: (held.events > 0n ? held.events : 1n) + 1n, // after the request (seq 1) and what was seen since
      nowMicros: BigInt(this.#o.now()) * 1000n,
      policyRevision: held.policyRevision,
      ...(holdUntilMicros === undefined ? {} : { holdUntilMicros }),
    });
    try {
      this.#o.publisher.publishBatched({
        topic: this.#o.topic,
        key: held.request.approvalId,
        value: Buffer.from(encodeEvent(event)),
      });
    } catch (err) {
      this.#o.log.warn(
        { approval: held.request.approvalId, notice: kind, err: { message: (err as Error).message } },
        'approval notice could not be published',
      );
    }
  }
}
