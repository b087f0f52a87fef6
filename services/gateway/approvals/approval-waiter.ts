import { randomUUID } from 'node:crypto';
import type { ApprovalRequested, Event, SecurityEvent } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { decodeEvent, encodeEvent } from '../../shared/events/codec.js';
import type { Identity } from '../../shared/identity/identity.js';
import type { Logger } from '../../shared/logger.js';
import type { TailRecord } from '../../shared/log/log-tail.js';
import type { DecisionClaims } from '../../shared/signing/decision-claims.js';
import type { HeldRequest } from '../../shared/signing/decision-signature.js';
import { judgeDecision } from './decision-gate.js';
import type { GateRefusal } from './decision-gate.js';
import type { PolicyGrant } from '../policy/types.js';
import { noticeEvent, refusedDecisionEvent } from './approval-notices.js';
import type { NoticeKind } from './approval-notices.js';
import { ApprovalLogUnavailableError } from './errors.js';
import { GrantCache } from './grant-cache.js';
import { LogTail } from '../../shared/log/log-tail.js';
import { buildApprovalRequest } from './requested-event.js';
import type { ApprovalRequestOptions } from './requested-event.js';

import type { ApprovalOutcome, ApprovalWaiterOptions, PendingApproval } from './waiter-types.js';
import { identityOf } from './waiter-types.js';

export type { ApprovalRequestOptions } from './requested-event.js';
export type {
  ApprovalOutcome,
  ApprovalWaiterOptions,
  OrphanDecision,
  PendingApproval,
} from './waiter-types.js';

type Held = {
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

/**
 * The gateway node's side of just-in-time approval. One per node: `start()` subscribes to the approvals topic
 * (reading it from the beginning, so no decision is missed and reuse grants survive restarts), then
 * `request()` publishes `approval.requested` (acks=all) and resolves its outcome with the FIRST `approval.decided`
 * for that id in log order, with `expired` at the ttl (local timer, even if no approval service runs), or with
 * `unavailable` when the request cannot be published or the topic cannot be read for `logTimeoutMs`.
 * Approved decisions with a reuse window become grants (`grantsFor`), which the policy may reuse.
 */
export class ApprovalWaiter {
  readonly #o: Required<
    Omit<ApprovalWaiterOptions, 'onOrphanDecision' | 'onRefusedDecision' | 'now' | 'requestTopic'>
  > &
    Pick<ApprovalWaiterOptions, 'onOrphanDecision' | 'onRefusedDecision'>;
  readonly #requestTopic: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #tail: LogTail;
  readonly #held = new Map<string, Held>();
  readonly #decided = new Set<string>();
  readonly #grants: GrantCache;
  #startedAt = 0;
  #watchdog: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: ApprovalWaiterOptions) {
    this.#o = {
      maxPending: 1000,
      maxGrants: 10_000,
      maxDecidedIds: 100_000,
      maxRefusalsPerRequest: 100,
      logTimeoutMs: 15_000,
      maxRequestTextLength: 256 * 1024,
      startTimeoutMs: 30_000,
      ...opts,
      approvalUrl: opts.approvalUrl.replace(/\/+$/, ''),
    };
    this.#log = opts.log.child({ component: 'approval-waiter' });
    this.#requestTopic = opts.requestTopic ?? opts.topic;
    this.#now = opts.now ?? Date.now;
    this.#grants = new GrantCache(this.#o.maxGrants);
    this.#tail = new LogTail({
      kafka: opts.kafka,
      log: this.#log,
      topic: opts.topic,
      groupIdPrefix: `gatehouse-gateway-${opts.nodeId}`,
    });
  }

  /** Resolves once the approvals topic was read to its end as of `start` (grants are complete from then on). */
  get caughtUp(): Promise<void> {
    return this.#tail.caughtUp;
  }

  get pendingCount(): number {
    return this.#held.size;
  }

  /** Readiness: started, caught up, and the topic was read recently. */
  isHealthy(): boolean {
    return this.#tail.isCaughtUp && this.#sinceReadMs() < this.#o.logTimeoutMs;
  }

  /**
   * Subscribes to the approvals topic (before any request is published). Rejects with
   * GH_ERR_APPROVAL_LOG_UNAVAILABLE when it cannot join within `startTimeoutMs`; catching up continues after.
   */
  async start(): Promise<void> {
    this.#startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ApprovalLogUnavailableError(
              `could not subscribe to ${this.#o.topic} within ${this.#o.startTimeoutMs} ms`,
            ),
          ),
        this.#o.startTimeoutMs,
      );
    });
    try {
      await Promise.race([this.#tail.start((r) => this.#onRecord(r)), timeout]);
    } catch (err) {
      if (err instanceof ApprovalLogUnavailableError) throw err;
      throw new ApprovalLogUnavailableError(`cannot read ${this.#o.topic}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
    this.#watchdog = setInterval(() => this.#checkLog(), 1_000);
    this.#watchdog.unref();
  }

  /** Publishes a request for approval and returns at once; `outcome` resolves when it is decided (never rejects). */
  request(opts: ApprovalRequestOptions): PendingApproval {
    const approvalId = randomUUID();
    const approveUrl = `${this.#o.approvalUrl}/approvals/${approvalId}`;
    const nowMs = this.#now();
    const ttlMs = Math.max(1, opts.ttlSeconds) * 1000;
    const expiresAt = new Date(nowMs + ttlMs);
    const nowMicros = BigInt(nowMs) * 1000n;
    const { requested, event } = buildApprovalRequest(opts, {
      approvalId,
      approveUrl,
      nodeId: opts.nodeId ?? this.#o.nodeId,
      nowMicros,
      ttlMs,
      maxTextLength: this.#o.maxRequestTextLength,
    });
    if (this.#stopped || this.#held.size >= this.#o.maxPending) {
      const reason = this.#stopped
        ? 'the gateway is shutting down'
        : `too many requests are waiting for approval on this node (${this.#o.maxPending})`;
      return {
        approvalId,
        approveUrl,
        expiresAt,
        requested,
        published: Promise.resolve(false),
        outcome: Promise.resolve({ outcome: 'unavailable', approvers: [], reason }),
      };
    }
    const outcome = new Promise<ApprovalOutcome>((resolve) => {
      const timer = setTimeout(() => {
        const reason = `no decision within ${opts.ttlSeconds} s`;
        this.#settle(approvalId, { outcome: 'expired', approvers: [], reason }, 'waited');
      }, ttlMs);
      this.#held.set(approvalId, {
        resolve,
        timer,
        request: {
          approvalId,
          sessionId: requested.sessionId,
          requestId: requested.requestId,
          requestDigest: requested.requestDigest,
          expiresMicros: requested.expiresMicros,
          requesterSub: opts.requester.sub,
          groups: [...requested.groups],
          approvalsNeeded: requested.approvalsNeeded,
        },
        requested,
        policyRevision: opts.policyRevision ?? '',
        events: 0n,
        onRefused: opts.onRefused,
        refused: 0,
      });
    });
    let published: Promise<boolean>;
    try {
      published = this.#o.publisher
        .publishDurable({
          topic: this.#requestTopic,
          key: approvalId,
          value: Buffer.from(encodeEvent(event)),
        })
        .then(
          () => true,
          (err: unknown) => this.#publishFailed(approvalId, err),
        );
    } catch (err) {
      published = Promise.resolve(this.#publishFailed(approvalId, err));
    }
    this.#log.info(
      {
        approval: approvalId,
        session: opts.sessionId,
        sub: opts.requester.sub,
        connection: opts.connection.name,
      },
      'approval requested',
    );
    return { approvalId, approveUrl, expiresAt, requested, published, outcome };
  }

  /**
   * Stop waiting for `approvalId` (the client is gone): its outcome resolves `unavailable`, and an `abandoned` notice
   * tells the approval service (and reviewers) that nobody waits for a decision any more.
   */
  cancel(approvalId: string, reason = 'the client went away'): void {
    this.#settle(approvalId, { outcome: 'unavailable', approvers: [], reason }, 'abandoned');
  }

  /** `input.grants` for a request: unexpired approved grants for this subject, connection and fingerprint. */
  grantsFor(sub: string, connection: string, fingerprint: string): PolicyGrant[] {
    return this.#grants.find(sub, connection, fingerprint, Math.floor(this.#now() / 1000));
  }

  /** Resolves every waiting request `unavailable` and leaves the topic. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#watchdog) clearInterval(this.#watchdog);
    for (const id of [...this.#held.keys()]) {
      const reason = 'the gateway is shutting down';
      this.#settle(id, { outcome: 'unavailable', approvers: [], reason }, 'abandoned');
    }
    await this.#tail.stop();
  }

  #publishFailed(approvalId: string, err: unknown): false {
    const message = (err as Error).message;
    this.#log.warn({ approval: approvalId, err: { message } }, 'approval request could not be published');
    this.#settle(approvalId, {
      outcome: 'unavailable',
      approvers: [],
      reason: `the approval log cannot be reached: ${message}`,
    });
    return false;
  }

  /** Ends the wait; `notice` (if any) tells the approvals topic why nobody waits any more. */
  #settle(approvalId: string, outcome: ApprovalOutcome, notice?: NoticeKind): void {
    const held = this.#held.get(approvalId);
    if (!held) return;
    this.#held.delete(approvalId);
    clearTimeout(held.timer);
    held.resolve(outcome);
    if (notice) this.#publishNotice(held, notice, outcome.reason);
  }

  /** Best effort (batched): a lost notice only means the approval ends `abandoned` at expiry instead. */
  #publishNotice(held: Held, kind: NoticeKind, reason: string): void {
    const event = noticeEvent(held.requested, kind, reason, {
      seq: (held.events > 0n ? held.events : 1n) + 1n, // after the request (seq 1) and what was seen since
      nowMicros: BigInt(this.#now()) * 1000n,
      policyRevision: held.policyRevision,
    });
    try {
      this.#o.publisher.publishBatched({
        topic: this.#requestTopic,
        key: held.request.approvalId,
        value: Buffer.from(encodeEvent(event)),
      });
    } catch (err) {
      this.#log.warn(
        { approval: held.request.approvalId, notice: kind, err: { message: (err as Error).message } },
        'approval notice could not be published',
      );
    }
  }

  #sinceReadMs(): number {
    if (this.#startedAt === 0) return Number.POSITIVE_INFINITY;
    return Math.min(this.#tail.sinceLastFetchMs, Date.now() - this.#startedAt);
  }

  #checkLog(): void {
    if (this.#held.size === 0) return;
    const since = this.#sinceReadMs();
    if (since < this.#o.logTimeoutMs) return;
    this.#log.error(
      { waiting: this.#held.size, sinceMs: since },
      'approval log unreadable; waiting requests fail',
    );
    for (const id of [...this.#held.keys()]) {
      this.#settle(id, {
        outcome: 'unavailable',
        approvers: [],
        reason: `the approval log could not be read for ${Math.round(since / 1000)} s`,
      });
    }
  }

  #onRecord(r: TailRecord): void {
    let event: Event;
    try {
      event = decodeEvent(r.value);
    } catch {
      return; // the approval service counts undecodable records
    }
    const b = event.body;
    if (b.case !== 'approvalDecided' && b.case !== 'approvalReviewed' && b.case !== 'approvalRequested')
      return;
    const held = this.#held.get(b.value.approvalId);
    if (held) held.events += 1n;
    if (b.case !== 'approvalDecided') return;
    const id = b.value.approvalId;
    if (id === '' || this.#decided.has(id)) return; // the first valid decision in log order wins
    const ownNode = b.value.nodeId === this.#o.nodeId && this.#tail.isCaughtUp;
    const verdict = judgeDecision(event, held?.request, this.#o.trustedKeys, ownNode);
    if (verdict.kind === 'skip') return;
    if (verdict.kind === 'refuse') {
      this.#refuse(event, r, held, verdict.refusal);
      return;
    }
    const { claims, body: d } = verdict;
    this.#decided.add(id);
    if (this.#decided.size > this.#o.maxDecidedIds) {
      const oldest = this.#decided.values().next();
      if (!oldest.done) this.#decided.delete(oldest.value);
    }
    const outcome = claims.outcome;
    if (outcome === 'approved') this.#learnGrant(claims);
    if (outcome === 'abandoned' && !held) return;
    const reviewer = identityOf(d.reviewer);
    const result: ApprovalOutcome = {
      outcome: outcome === 'abandoned' ? 'expired' : outcome,
      ...(reviewer ? { reviewer } : {}),
      approvers: d.approvers.map(identityOf).filter((i): i is Identity => i !== undefined),
      reason: d.reason,
      decided: d,
    };
    if (held) {
      this.#log.info(
        { approval: id, outcome, reviewer: reviewer?.sub, keyId: claims.keyId },
        'approval decided',
      );
      this.#settle(id, result);
    } else if (d.nodeId === this.#o.nodeId && this.#tail.isCaughtUp) {
      try {
        this.#o.onOrphanDecision?.({ approvalId: id, decided: d, event });
      } catch (err) {
        this.#log.error({ err: { message: (err as Error).message } }, 'orphan decision handler failed');
      }
    }
  }

  /**
   * A decision that cannot be trusted for this node's request: ignored (the request keeps waiting), logged, counted,
   * and recorded as a security event on the holding session's stream.
   */
  #refuse(event: Event, r: TailRecord, held: Held | undefined, refusal: GateRefusal): void {
    if (held && ++held.refused > this.#o.maxRefusalsPerRequest) {
      this.#o.onRefusedDecision?.(refusedDecisionEvent(event, refusal, { ...r, topic: '', requestId: 0 }));
      return; // a flood: counted, but neither logged nor recorded again for this request
    }
    const security = refusedDecisionEvent(event, refusal, {
      topic: this.#o.topic,
      partition: r.partition,
      offset: r.offset,
      requestId: held?.request.requestId ?? 0,
    });
    this.#log.warn(
      {
        approval: security.approvalId,
        session: held?.request.sessionId,
        code: refusal.code,
        keyId: security.keyId,
        claimedNode: security.claimedNodeId,
        source: security.source,
        held: held !== undefined,
      },
      `approval decision refused: ${refusal.reason}`,
    );
    for (const f of [held?.onRefused, this.#o.onRefusedDecision]) {
      try {
        f?.(security);
      } catch (err) {
        this.#log.error({ err: { message: (err as Error).message } }, 'refused-decision handler failed');
      }
    }
  }

  /** A reuse grant from a verified approval: every field comes from the signed claims. */
  #learnGrant(c: DecisionClaims): void {
    if (c.reuseSeconds <= 0 || c.fingerprint === '' || c.requesterSub === '' || c.connection === '') return;
    const approvedAt = Math.floor(Number(c.decidedMicros / 1_000_000n));
    this.#grants.add(
      {
        id: c.approvalId,
        sub: c.requesterSub,
        connection: c.connection,
        fingerprint: c.fingerprint,
        groups: [...c.approverGroups],
        approvals: c.approvers.length,
        approved_at: approvedAt,
        expires_at: approvedAt + c.reuseSeconds,
      },
      Math.floor(this.#now() / 1000),
    );
  }
}
