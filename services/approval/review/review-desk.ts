import { randomUUID } from 'node:crypto';
import { encodeEvent } from '../../shared/events/codec.js';
import type { Event } from '../../shared/events/codec.js';
import { TokenError, TokenErrorCode } from '../../shared/identity/errors.js';
import type { Identity } from '../../shared/identity/identity.js';
import type { TokenVerifier } from '../../shared/identity/token-verifier.js';
import { logError } from '../../shared/log-error.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { SigningKey } from '../../shared/signing/signing-keys.js';
import {
  ApprovalApiError,
  ApprovalErrorCode,
  badRequest,
  logUnavailable,
  notFound,
  notReady,
  unauthenticated,
} from '../errors.js';
import { decidedEvent, microsNow, reviewedEvent } from '../log/approval-events.js';
import type { ApprovalMetrics } from '../metrics.js';
import { draftDecision } from '../model/decision.js';
import type { DecisionDraft } from '../model/decision.js';
import { checkReview } from '../model/review-rules.js';
import type { ReviewRefusal } from '../model/review-rules.js';
import type { ApprovalRecord, ApprovalState, Verdict } from '../model/types.js';
import { stateOf } from '../model/types.js';
import { canSee } from '../model/view.js';
import type { ApprovalStore } from '../store/approval-store.js';

export type ReviewDeskOptions = {
  store: ApprovalStore;
  publisher: EventPublisher;
  topic: string;
  instanceId: string;
  /** Signs every decision this instance publishes. */
  signingKey: SigningKey;
  verifier: TokenVerifier;
  log: Logger;
  metrics: ApprovalMetrics;
  /** True once the approval log was read to its end (before that, the state may be stale). */
  isReady: () => boolean;
  foldWaitMs: number;
  maxReasonLength: number;
  maxList: number;
};

export type DecideResult = {
  /** 200: folded (the state shows the review); 202: durable in the log but not folded within the wait. */
  readonly status: 200 | 202;
  readonly record: ApprovalRecord;
};

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

function refusalError(r: ReviewRefusal): ApprovalApiError {
  const code =
    r.code === 'self_review'
      ? ApprovalErrorCode.selfApproval
      : r.status === 403
        ? ApprovalErrorCode.forbidden
        : r.status === 400
          ? ApprovalErrorCode.reasonRequired
          : ApprovalErrorCode.conflict;
  return new ApprovalApiError(code, r.status, r.message);
}

/**
 * What reviewers can do, the same for the HTTP and the gRPC API: authenticate, list and read approvals they may see,
 * and approve or reject. A review is published to the approvals topic (acks=all), then the call waits until the
 * fold has seen it; when it settled the outcome, this instance publishes the `approval.decided` event too.
 */
export class ReviewDesk {
  readonly #o: ReviewDeskOptions;

  constructor(opts: ReviewDeskOptions) {
    this.#o = opts;
  }

  /** Verifies `Authorization: Bearer <token>`. Throws 401 (bad token) or 503 (identity provider unreachable). */
  async authenticate(authorization: string | undefined): Promise<Identity> {
    const m = BEARER.exec(authorization ?? '');
    if (!m) throw unauthenticated('an access token is required: Authorization: Bearer <token>');
    try {
      return await this.#o.verifier.verify(m[1]!);
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenErrorCode.jwksUnavailable) {
        throw new ApprovalApiError(
          ApprovalErrorCode.unavailable,
          503,
          'the identity provider cannot be reached',
          { cause: err },
        );
      }
      throw unauthenticated(
        err instanceof TokenError ? err.message : 'the access token was not accepted',
        err,
      );
    }
  }

  assertReady(): void {
    if (!this.#o.isReady()) throw notReady();
  }

  /** Approvals the caller may see in `state` (or all), newest request first. */
  list(caller: Identity, state: ApprovalState | 'all', limit: number): ApprovalRecord[] {
    this.assertReady();
    const max = Math.min(Math.max(1, limit), this.#o.maxList);
    const out: ApprovalRecord[] = [];
    for (const r of this.#o.store.records()) {
      if ((state === 'all' || stateOf(r) === state) && canSee(r, caller)) out.push(r);
    }
    out.sort((a, b) =>
      a.request.requestedMicros > b.request.requestedMicros
        ? -1
        : a.request.requestedMicros < b.request.requestedMicros
          ? 1
          : 0,
    );
    return out.slice(0, max);
  }

  get(caller: Identity, id: string): ApprovalRecord {
    this.assertReady();
    const record = this.#o.store.get(id);
    if (!record) throw notFound(id);
    if (!canSee(record, caller)) {
      throw new ApprovalApiError(
        ApprovalErrorCode.forbidden,
        403,
        `only the requester and members of ${record.request.groups.join(', ') || 'the approver groups'} may see this approval`,
      );
    }
    return record;
  }

  /**
   * A reviewer may follow the approve link the instant the gateway printed it, before this instance has folded
   * the request from the log: wait for it (bounded by `foldWaitMs`) before answering 404.
   */
  async #awaitRecord(id: string): Promise<ApprovalRecord | undefined> {
    const deadline = Date.now() + this.#o.foldWaitMs;
    for (;;) {
      const record = this.#o.store.get(id);
      if (record || Date.now() >= deadline) return record;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async decide(
    caller: Identity,
    id: string,
    verdict: Verdict,
    reasonIn: string,
    channel: string,
  ): Promise<DecideResult> {
    this.assertReady();
    const reason = reasonIn.trim();
    if (reason.length > this.#o.maxReasonLength)
      throw badRequest(`the reason is longer than ${this.#o.maxReasonLength} characters`);
    const record = await this.#awaitRecord(id);
    if (!record) throw notFound(id);
    const refusal = checkReview(record, caller, verdict, reason, microsNow());
    if (refusal) {
      this.#o.metrics.reviews.inc({ verdict, result: 'refused' });
      throw refusalError(refusal);
    }
    const eventId = randomUUID();
    const event = reviewedEvent(record, this.#o.instanceId, {
      eventId,
      reviewer: caller,
      verdict,
      reason,
      channel,
    });
    const folded = this.#o.store.waitForEvent(eventId, this.#o.foldWaitMs);
    try {
      await this.#publish(event, id);
    } catch (err) {
      this.#o.metrics.reviews.inc({ verdict, result: 'unavailable' });
      throw logUnavailable(err);
    }
    this.#o.metrics.reviews.inc({ verdict, result: 'accepted' });
    this.#o.log.info({ approval: id, reviewer: caller.sub, verdict, channel }, 'review published');
    if (!(await folded)) return { status: 202, record: this.#o.store.get(id) ?? record };
    let now = this.#o.store.get(id) ?? record;
    const entry = now.history.find((h) => h.eventId === eventId);
    if (entry?.ignored) throw new ApprovalApiError(ApprovalErrorCode.conflict, 409, entry.ignored);
    const settled = now.settled;
    if (settled?.eventId === eventId && !now.decision) {
      try {
        await this.publishDecision(now, draftDecision(now, settled.outcome), 'review');
      } catch (err) {
        // The review is in the log and settled the outcome; any instance publishes the decision after the grace.
        logError(this.#o.log, err, 'could not publish the decision yet', { level: 'warn', approval: id });
      }
      now = this.#o.store.get(id) ?? now;
      if (now.decision && now.decision.outcome !== settled.outcome) {
        throw new ApprovalApiError(
          ApprovalErrorCode.conflict,
          409,
          `the request was already ${now.decision.outcome}`,
        );
      }
    }
    return { status: 200, record: now };
  }

  /** Publishes `approval.decided` for `record` and waits (bounded) until it is folded. Throws when Kafka fails. */
  async publishDecision(
    record: ApprovalRecord,
    draft: DecisionDraft,
    trigger: 'review' | 'sweep',
  ): Promise<void> {
    const event = decidedEvent(record, this.#o.instanceId, draft, this.#o.signingKey);
    const folded = this.#o.store.waitForEvent(event.eventId, this.#o.foldWaitMs);
    await this.#publish(event, record.request.id);
    this.#o.metrics.decisionsPublished.inc({ outcome: draft.outcome, trigger });
    this.#o.log.info({ approval: record.request.id, outcome: draft.outcome, trigger }, 'decision published');
    await folded;
  }

  async #publish(event: Event, approvalId: string): Promise<void> {
    try {
      await this.#o.publisher.publishDurable({
        topic: this.#o.topic,
        key: approvalId,
        value: Buffer.from(encodeEvent(event)),
      });
    } catch (err) {
      this.#o.metrics.publishFailures.inc();
      throw err;
    }
  }
}
