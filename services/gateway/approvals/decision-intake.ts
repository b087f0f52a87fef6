import type { Event, SecurityEvent } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { decodeEvent } from '../../shared/events/codec.js';
import type { Identity } from '../../shared/identity/identity.js';
import type { TailRecord } from '../../shared/log/log-tail.js';
import type { Logger } from '../../shared/logger.js';
import type { DecisionClaims } from '../../shared/signing/decision-claims.js';
import type { TrustedKeys } from '../../shared/signing/signing-keys.js';
import { refusedDecisionEvent } from './approval-notices.js';
import { judgeDecision } from './decision-gate.js';
import type { GateRefusal } from './decision-gate.js';
import type { GrantCache } from './grant-cache.js';
import type { Held, HeldRequests } from './held-requests.js';
import type { ApprovalOutcome, OrphanDecision } from './waiter-types.js';
import { identityOf } from './waiter-types.js';

export type DecisionIntakeOptions = {
  nodeId: string;
  /** The approvals topic (named in security events). */
  topic: string;
  trustedKeys: TrustedKeys;
  maxDecidedIds: number;
  maxRefusalsPerRequest: number;
  log: Logger;
  now: () => number;
  held: HeldRequests;
  grants: GrantCache;
  /** Whether the approvals topic was read to its end as of start (own-node decisions are trusted only then). */
  isCaughtUp: () => boolean;
  onOrphanDecision?: ((decision: OrphanDecision) => void) | undefined;
  onRefusedDecision?: ((refused: SecurityEvent) => void) | undefined;
};

/**
 * Reads the approvals topic on behalf of the node's waiter: the FIRST valid `approval.decided` per approval id in
 * log order settles the held request (if any) and, when approved with a reuse window, becomes a grant; a decision
 * that cannot be trusted is refused (logged, counted, recorded as a security event on the holding session).
 */
export class DecisionIntake {
  readonly #o: DecisionIntakeOptions;
  readonly #decided = new Set<string>();

  constructor(opts: DecisionIntakeOptions) {
    this.#o = opts;
  }

  onRecord(r: TailRecord): void {
    let event: Event;
    try {
      event = decodeEvent(r.value);
    } catch {
      return; // the approval service counts undecodable records
    }
    const b = event.body;
    if (b.case !== 'approvalDecided' && b.case !== 'approvalReviewed' && b.case !== 'approvalRequested')
      return;
    const held = this.#o.held.get(b.value.approvalId);
    if (held) held.events += 1n;
    if (b.case !== 'approvalDecided') return;
    const id = b.value.approvalId;
    if (id === '' || this.#decided.has(id)) return; // the first valid decision in log order wins
    const ownNode = b.value.nodeId === this.#o.nodeId && this.#o.isCaughtUp();
    const verdict = judgeDecision(event, held?.request, this.#o.trustedKeys, ownNode);
    if (verdict.kind === 'skip') return;
    if (verdict.kind === 'refuse') {
      this.#refuse(event, r, held, verdict.refusal);
      return;
    }
    const { claims, body: d } = verdict;
    this.#remember(id);
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
      this.#o.log.info(
        { approval: id, outcome, reviewer: reviewer?.sub, keyId: claims.keyId },
        'approval decided',
      );
      this.#o.held.settle(id, result);
    } else if (d.nodeId === this.#o.nodeId && this.#o.isCaughtUp()) {
      try {
        this.#o.onOrphanDecision?.({ approvalId: id, decided: d, event });
      } catch (err) {
        this.#o.log.error({ err: { message: (err as Error).message } }, 'orphan decision handler failed');
      }
    }
  }

  /** Bounded first-decision-wins memory: the oldest id is forgotten first. */
  #remember(id: string): void {
    this.#decided.add(id);
    if (this.#decided.size > this.#o.maxDecidedIds) {
      const oldest = this.#decided.values().next();
      if (!oldest.done) this.#decided.delete(oldest.value);
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
    this.#o.log.warn(
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
        this.#o.log.error({ err: { message: (err as Error).message } }, 'refused-decision handler failed');
      }
    }
  }

  /** A reuse grant from a verified approval: every field comes from the signed claims. */
  #learnGrant(c: DecisionClaims): void {
    if (c.reuseSeconds <= 0 || c.fingerprint === '' || c.requesterSub === '' || c.connection === '') return;
    const approvedAt = Math.floor(Number(c.decidedMicros / 1_000_000n));
    this.#o.grants.add(
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
      Math.floor(this.#o.now() / 1000),
    );
  }
}
