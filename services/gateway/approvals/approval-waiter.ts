import { randomUUID } from 'node:crypto';
import { encodeEvent } from '../../shared/events/codec.js';
import type { Logger } from '../../shared/logger.js';
import type { LogReader } from '../../shared/log/event-log.js';
import type { PolicyGrant } from '../policy/types.js';
import { DecisionIntake } from './decision-intake.js';
import { ApprovalLogUnavailableError } from './errors.js';
import { GrantCache } from './grant-cache.js';
import { HeldRequests } from './held-requests.js';
import { buildApprovalRequest } from './requested-event.js';
import type { ApprovalRequestOptions } from './requested-event.js';
import type { ApprovalOutcome, ApprovalWaiterOptions, PendingApproval } from './waiter-types.js';

export type { ApprovalRequestOptions } from './requested-event.js';
export type {
  ApprovalOutcome,
  ApprovalWaiterOptions,
  OrphanDecision,
  PendingApproval,
} from './waiter-types.js';

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
  readonly #tail: LogReader;
  readonly #held: HeldRequests;
  readonly #grants: GrantCache;
  readonly #intake: DecisionIntake;
  #startedAt = 0;
  #watchdog: NodeJS.Timeout | undefined;
  #renewer: NodeJS.Timeout | undefined;
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
      holdRenewMs: 5_000,
      holdLeaseMs: 20_000,
      ...opts,
      approvalUrl: opts.approvalUrl.replace(/\/+$/, ''),
    };
    this.#log = opts.log.child({ component: 'approval-waiter' });
    this.#requestTopic = opts.requestTopic ?? opts.topic;
    this.#now = opts.now ?? Date.now;
    this.#grants = new GrantCache(this.#o.maxGrants);
    this.#held = new HeldRequests({
      publisher: opts.publisher,
      topic: this.#requestTopic,
      log: this.#log,
      now: this.#now,
    });
    this.#tail = opts.eventLog.createReader({
      log: this.#log,
      topic: opts.topic,
      groupIdPrefix: `gatehouse-gateway-${opts.nodeId}`,
    });
    this.#intake = new DecisionIntake({
      nodeId: opts.nodeId,
      topic: opts.topic,
      trustedKeys: opts.trustedKeys,
      maxDecidedIds: this.#o.maxDecidedIds,
      maxRefusalsPerRequest: this.#o.maxRefusalsPerRequest,
      log: this.#log,
      now: this.#now,
      held: this.#held,
      grants: this.#grants,
      isCaughtUp: () => this.#tail.isCaughtUp,
      onOrphanDecision: opts.onOrphanDecision,
      onRefusedDecision: opts.onRefusedDecision,
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
      await Promise.race([this.#tail.start((r) => this.#intake.onRecord(r)), timeout]);
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
    this.#renewer = setInterval(() => this.#held.renewAll(this.#o.holdLeaseMs), this.#o.holdRenewMs);
    this.#renewer.unref();
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
      holdLeaseMs: this.#o.holdLeaseMs,
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
        this.#held.settle(approvalId, { outcome: 'expired', approvers: [], reason }, 'waited');
      }, ttlMs);
      this.#held.add(approvalId, {
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
          () => {
            // The first lease right behind the durable request (same key: it follows the request in the log).
            const held = this.#held.get(approvalId);
            if (held) this.#held.renew(held, this.#o.holdLeaseMs);
            return true;
          },
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
    this.#held.settle(approvalId, { outcome: 'unavailable', approvers: [], reason }, 'abandoned');
  }

  /** `input.grants` for a request: unexpired approved grants for this subject, connection and fingerprint. */
  grantsFor(sub: string, connection: string, fingerprint: string): PolicyGrant[] {
    return this.#grants.find(sub, connection, fingerprint, Math.floor(this.#now() / 1000));
  }

  /** Resolves every waiting request `unavailable` and leaves the topic. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#watchdog) clearInterval(this.#watchdog);
    if (this.#renewer) clearInterval(this.#renewer);
    for (const id of this.#held.ids()) {
      const reason = 'the gateway is shutting down';
      this.#held.settle(id, { outcome: 'unavailable', approvers: [], reason }, 'abandoned');
    }
    await this.#tail.stop();
  }

  #publishFailed(approvalId: string, err: unknown): false {
    const message = (err as Error).message;
    this.#log.warn({ approval: approvalId, err: { message } }, 'approval request could not be published');
    this.#held.settle(approvalId, {
      outcome: 'unavailable',
      approvers: [],
      reason: `the approval log cannot be reached: ${message}`,
    });
    return false;
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
    for (const id of this.#held.ids()) {
      this.#held.settle(id, {
        outcome: 'unavailable',
        approvers: [],
        reason: `the approval log could not be read for ${Math.round(since / 1000)} s`,
      });
    }
  }
}
