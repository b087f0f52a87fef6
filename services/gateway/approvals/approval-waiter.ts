import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type {
  ApprovalDecided,
  ApprovalRequested,
  Event,
  Identity as ProtoIdentity,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { decodeEvent, encodeEvent } from '../../shared/events/codec.js';
import type { Identity } from '../../shared/identity/identity.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { PolicyGrant } from '../policy/types.js';
import { ApprovalLogUnavailableError } from './errors.js';
import { GrantCache } from './grant-cache.js';
import { LogTail } from '../../shared/log/log-tail.js';
import { buildApprovalRequest } from './requested-event.js';
import type { ApprovalRequestOptions } from './requested-event.js';

export type { ApprovalRequestOptions } from './requested-event.js';

export type ApprovalWaiterOptions = {
  kafka: Kafka;
  /** The node's publisher (acks=all for `publishDurable`). */
  publisher: EventPublisher;
  log: Logger;
  /** The approvals topic (`kafka.topics.approvals`). */
  topic: string;
  nodeId: string;
  /** Public base URL of the approval service; approve links are `<approvalUrl>/approvals/<id>`. */
  approvalUrl: string;
  /** Requests waiting on this node at once (default 1000); more resolve `unavailable` at once. */
  maxPending?: number;
  /** Reusable grants remembered (default 10 000). */
  maxGrants?: number;
  /** Decided approval ids remembered for first-decision-wins (default 100 000). */
  maxDecidedIds?: number;
  /** Waiting requests resolve `unavailable` once the approvals topic could not be read this long (default 15 s). */
  logTimeoutMs?: number;
  /** Longest request text published (UTF-16 units, default 256 Ki); longer text is cut and marked. */
  maxRequestTextLength?: number;
  /** How long `start` waits to join the topic (default 30 s). */
  startTimeoutMs?: number;
  /** Called for the first decision of an approval this node requested but no longer waits for (client gone). */
  onOrphanDecision?: (decision: OrphanDecision) => void;
  now?: () => number;
};

export type ApprovalOutcome = {
  readonly outcome: 'approved' | 'rejected' | 'expired' | 'unavailable';
  /** Who decided (the last approver, or the rejecter). */
  readonly reviewer?: Identity;
  readonly approvers: readonly Identity[];
  readonly reason: string;
  /** The `approval.decided` body from the log (absent for a local expiry or `unavailable`). */
  readonly decided?: ApprovalDecided;
};

export type PendingApproval = {
  readonly approvalId: string;
  readonly approveUrl: string;
  readonly expiresAt: Date;
  /** The `approval.requested` body as published (record it on the session stream too). */
  readonly requested: ApprovalRequested;
  /** true once the request is durable in the approvals topic; false when publishing failed (outcome: unavailable). */
  readonly published: Promise<boolean>;
  /** Never rejects. */
  readonly outcome: Promise<ApprovalOutcome>;
};

export type OrphanDecision = {
  readonly approvalId: string;
  readonly decided: ApprovalDecided;
  readonly event: Event;
};

type Held = { resolve: (o: ApprovalOutcome) => void; timer: NodeJS.Timeout };

function identityOf(p: ProtoIdentity | undefined): Identity | undefined {
  if (!p || p.sub === '') return undefined;
  return {
    sub: p.sub,
    email: p.email,
    groups: [...p.groups],
    agent: p.agent,
    issuer: p.issuer,
    client_id: p.clientId,
  };
}

/**
 * The gateway node's side of just-in-time approval. One per node: `start()` subscribes to the approvals topic
 * (reading it from the beginning, so no decision is missed and reuse grants survive restarts), then
 * `request()` publishes `approval.requested` (acks=all) and resolves its outcome with the FIRST `approval.decided`
 * for that id in log order, with `expired` at the ttl (local timer, even if no approval service runs), or with
 * `unavailable` when the request cannot be published or the topic cannot be read for `logTimeoutMs`.
 * Approved decisions with a reuse window become grants (`grantsFor`), which the policy may reuse.
 */
export class ApprovalWaiter {
  readonly #o: Required<Omit<ApprovalWaiterOptions, 'onOrphanDecision' | 'now'>> &
    Pick<ApprovalWaiterOptions, 'onOrphanDecision'>;
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
      logTimeoutMs: 15_000,
      maxRequestTextLength: 256 * 1024,
      startTimeoutMs: 30_000,
      ...opts,
      approvalUrl: opts.approvalUrl.replace(/\/+$/, ''),
    };
    this.#log = opts.log.child({ component: 'approval-waiter' });
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
      await Promise.race([this.#tail.start((r) => this.#onRecord(r.value)), timeout]);
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
      const timer = setTimeout(
        () =>
          this.#settle(approvalId, {
            outcome: 'expired',
            approvers: [],
            reason: `no decision within ${opts.ttlSeconds} s`,
          }),
        ttlMs,
      );
      this.#held.set(approvalId, { resolve, timer });
    });
    let published: Promise<boolean>;
    try {
      published = this.#o.publisher
        .publishDurable({ topic: this.#o.topic, key: approvalId, value: Buffer.from(encodeEvent(event)) })
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

  /** Stop waiting for `approvalId` (the client is gone): its outcome resolves `unavailable`. */
  cancel(approvalId: string, reason = 'the client went away'): void {
    this.#settle(approvalId, { outcome: 'unavailable', approvers: [], reason });
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
      this.#settle(id, { outcome: 'unavailable', approvers: [], reason: 'the gateway is shutting down' });
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

  #settle(approvalId: string, outcome: ApprovalOutcome): void {
    const held = this.#held.get(approvalId);
    if (!held) return;
    this.#held.delete(approvalId);
    clearTimeout(held.timer);
    held.resolve(outcome);
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

  #onRecord(value: Buffer): void {
    let event: Event;
    try {
      event = decodeEvent(value);
    } catch {
      return; // the approval service counts undecodable records
    }
    if (event.body.case !== 'approvalDecided') return;
    const d = event.body.value;
    const id = d.approvalId;
    if (id === '' || this.#decided.has(id)) return; // the first decision in log order wins
    this.#decided.add(id);
    if (this.#decided.size > this.#o.maxDecidedIds) {
      const oldest = this.#decided.values().next();
      if (!oldest.done) this.#decided.delete(oldest.value);
    }
    const outcome = d.outcome;
    if (outcome !== 'approved' && outcome !== 'rejected' && outcome !== 'expired') return;
    if (outcome === 'approved') this.#learnGrant(event, d);
    const reviewer = identityOf(d.reviewer);
    const result: ApprovalOutcome = {
      outcome,
      ...(reviewer ? { reviewer } : {}),
      approvers: d.approvers.map(identityOf).filter((i): i is Identity => i !== undefined),
      reason: d.reason,
      decided: d,
    };
    if (this.#held.has(id)) {
      this.#log.info({ approval: id, outcome, reviewer: reviewer?.sub }, 'approval decided');
      this.#settle(id, result);
    } else if (d.nodeId === this.#o.nodeId && this.#tail.isCaughtUp) {
      try {
        this.#o.onOrphanDecision?.({ approvalId: id, decided: d, event });
      } catch (err) {
        this.#log.error({ err: { message: (err as Error).message } }, 'orphan decision handler failed');
      }
    }
  }

  #learnGrant(event: Event, d: ApprovalDecided): void {
    if (d.reuseSeconds <= 0 || d.requestHash === '' || !event.identity || !event.connection) return;
    const approvedAt = Math.floor(Number(event.tsMicros / 1_000_000n));
    this.#grants.add(
      {
        id: d.approvalId,
        sub: event.identity.sub,
        connection: event.connection.name,
        fingerprint: d.requestHash,
        groups: [...d.approverGroups],
        approvals: d.approvers.length,
        approved_at: approvedAt,
        expires_at: approvedAt + d.reuseSeconds,
      },
      Math.floor(this.#now() / 1000),
    );
  }
}
