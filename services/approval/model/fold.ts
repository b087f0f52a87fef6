import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/identity.js';
import { checkDecisionFor, verifyDecisionSignature } from '../../shared/signing/decision-signature.js';
import type { TrustedKeys } from '../../shared/signing/signing-keys.js';
import { fromProtoIdentity } from './identity.js';
import { checkReview } from './review-rules.js';
import type { ApprovalRecord, ApprovalRequest, FinalOutcome, HistoryEntry, Verdict } from './types.js';
import { FINAL_OUTCOMES } from './types.js';

export type FoldLimits = {
  /** Most history entries kept per approval (the request entry is always kept). */
  readonly maxHistory: number;
  /**
   * Public keys of the approval service (by key id). A decision other than a gateway's `abandoned` notice counts only
   * when signed by one of them. Without it signatures are not checked (unit tests of the fold rules only).
   */
  readonly trustedKeys?: TrustedKeys;
};

/** Outcome strings of the unsigned notices a gateway publishes (see proto `ApprovalDecided`). */
export const NOTICE_ABANDONED = 'abandoned';
export const NOTICE_WAITED = 'waited';
export const NOTICE_HOLDING = 'holding';

/** A gateway's unsigned notice outcomes (relayed from the requests topic; never a decision of their own). */
export const GATEWAY_NOTICES: readonly string[] = [NOTICE_ABANDONED, NOTICE_WAITED, NOTICE_HOLDING];

export const DEFAULT_FOLD_LIMITS: FoldLimits = Object.freeze({ maxHistory: 100 });

/**
 * What folding one event did:
 * - `requested` / `reviewed` / `decided`: the event was recorded; `entry.ignored` says when it did not count;
 * - `duplicate`: the same event (id) was folded before (a redelivery): nothing changed;
 * - `renewed`: a gateway's `holding` notice: the hold lease (and event count) changed, no history entry;
 * - `unrelated`: not an approval event, or about an approval whose request was never seen.
 */
export type FoldResult =
  | {
      readonly kind: 'requested' | 'reviewed' | 'decided';
      readonly record: ApprovalRecord;
      readonly entry: HistoryEntry;
    }
  | { readonly kind: 'duplicate' | 'renewed'; readonly record: ApprovalRecord }
  | { readonly kind: 'unrelated'; readonly reason: string };

/** The approval an event belongs to, if it is an approval event. */
export function approvalIdOf(event: Event): string | undefined {
  const b = event.body;
  switch (b.case) {
    case 'approvalRequested':
    case 'approvalReviewed':
    case 'approvalDecided':
      return b.value.approvalId === '' ? undefined : b.value.approvalId;
    default:
      return undefined;
  }
}

function entry(
  partial: Partial<HistoryEntry> & Pick<HistoryEntry, 'kind' | 'atMicros' | 'eventId'>,
): HistoryEntry {
  return { actor: undefined, verdict: '', outcome: '', reason: '', ignored: '', ...partial };
}

function withEntry(
  record: ApprovalRecord,
  e: HistoryEntry,
  limits: FoldLimits,
  patch: Partial<ApprovalRecord> = {},
) {
  let history = [...record.history, e];
  let dropped = record.historyDropped;
  const max = Math.max(2, limits.maxHistory);
  if (history.length > max) {
    const excess = history.length - max;
    history = [history[0]!, ...history.slice(1 + excess)];
    dropped += excess;
  }
  return { ...record, ...patch, history, historyDropped: dropped, events: record.events + 1 };
}

function requestFrom(
  event: Event,
  body: Extract<Event['body'], { case: 'approvalRequested' }>['value'],
): ApprovalRequest {
  const conn = body.connection ?? event.connection;
  return {
    id: body.approvalId,
    sessionId: body.sessionId,
    nodeId: body.nodeId || event.nodeId,
    requestId: body.requestId,
    requester: fromProtoIdentity(body.requester ?? event.identity),
    connection: { name: conn?.name ?? '', protocol: conn?.protocol ?? '', tags: { ...(conn?.tags ?? {}) } },
    protocol: body.protocol || event.protocol,
    policyRevision: event.policyRevision,
    text: body.requestText,
    fingerprint: body.requestHash,
    digest: body.requestDigest,
    reasons: [...body.reasons],
    groups: [...new Set(body.groups)],
    approvalsNeeded: Math.max(1, body.approvalsNeeded),
    ttlSeconds: body.ttlSeconds,
    reuseSeconds: body.reuseSeconds,
    requestedMicros: event.tsMicros,
    expiresMicros: body.expiresMicros,
    approveUrl: body.approveUrl,
  };
}

function asVerdict(v: string): Verdict | undefined {
  return v === 'approve' || v === 'reject' ? v : undefined;
}

function asOutcome(v: string): FinalOutcome | undefined {
  return (FINAL_OUTCOMES as readonly string[]).includes(v) ? (v as FinalOutcome) : undefined;
}

/**
 * Folds one event of the approvals topic into the state of its approval. Pure: the same events in the same (log)
 * order give the same state on every instance, which is what makes several approval-service instances agree.
 *
 * - `approval.requested` creates the approval (pending), with the node's first hold lease (`held_until_micros`) when
 *   it carries one. A second request with the same id is ignored.
 * - `approval.reviewed` counts only when `checkReview` accepts it at the event's own time (so a review stamped at or
 *   after the expiry never counts). A valid rejection, or the Nth distinct approval, settles the outcome; later
 *   reviews are ignored.
 * - `approval.decided`: the first valid one in log order is the outcome; any later one is recorded as ignored. Valid:
 *   signed by a trusted key (`limits.trustedKeys`), or a gateway's unsigned `abandoned` notice naming the request's
 *   session and node. A gateway's `waited` notice is no decision: it marks that the gateway still waited at the
 *   expiry (so the approval ends `expired`, not `abandoned`). A `holding` notice renews the hold lease
 *   (`heldUntilMicros`, its `expires_micros`; never shortened) without a history entry: renewals are periodic.
 */
export function foldApproval(
  record: ApprovalRecord | undefined,
  event: Event,
  limits = DEFAULT_FOLD_LIMITS,
): FoldResult {
  const id = approvalIdOf(event);
  if (id === undefined) return { kind: 'unrelated', reason: 'not an approval event' };
  if (record?.history.some((h) => h.eventId === event.eventId)) return { kind: 'duplicate', record };
  const at = event.tsMicros;
  const b = event.body;
  switch (b.case) {
    case 'approvalRequested': {
      const request = requestFrom(event, b.value);
      const e = entry({
        kind: 'requested',
        atMicros: at,
        eventId: event.eventId,
        actor: request.requester,
        reason: request.reasons.join('; '),
      });
      if (record)
        return {
          kind: 'requested',
          record: withEntry(record, { ...e, ignored: 'duplicate request id' }, limits),
          entry: { ...e, ignored: 'duplicate request id' },
        };
      const created: ApprovalRecord = {
        request,
        approvals: [],
        rejection: undefined,
        settled: undefined,
        decision: undefined,
        history: [e],
        historyDropped: 0,
        events: 1,
        waited: false,
        // The first lease travels in the request itself (0 from nodes that only send `holding` notices).
        heldUntilMicros: b.value.heldUntilMicros > 0n ? b.value.heldUntilMicros : undefined,
      };
      return { kind: 'requested', record: created, entry: e };
    }
    case 'approvalReviewed': {
      if (!record) return { kind: 'unrelated', reason: 'review of an unknown approval' };
      const reviewer = fromProtoIdentity(b.value.reviewer);
      const verdict = asVerdict(b.value.verdict);
      const base = entry({
        kind: 'reviewed',
        atMicros: at,
        eventId: event.eventId,
        actor: reviewer,
        verdict: verdict ?? '',
        reason: b.value.reason,
      });
      const problem =
        verdict === undefined
          ? `unknown verdict ${JSON.stringify(b.value.verdict.slice(0, 40))}`
          : reviewer.sub === ''
            ? 'review without a reviewer'
            : checkReview(record, reviewer, verdict, b.value.reason, at)?.message;
      if (problem !== undefined || verdict === undefined) {
        const ignored = { ...base, ignored: problem ?? 'invalid review' };
        return { kind: 'reviewed', record: withEntry(record, ignored, limits), entry: ignored };
      }
      const review = { reviewer, verdict, reason: b.value.reason, atMicros: at, eventId: event.eventId };
      if (verdict === 'reject') {
        const settled = { outcome: 'rejected' as const, atMicros: at, eventId: event.eventId };
        return {
          kind: 'reviewed',
          record: withEntry(record, base, limits, { rejection: review, settled }),
          entry: base,
        };
      }
      const approvals = [...record.approvals, review];
      const settled =
        approvals.length >= record.request.approvalsNeeded
          ? { outcome: 'approved' as const, atMicros: at, eventId: event.eventId }
          : undefined;
      return {
        kind: 'reviewed',
        record: withEntry(record, base, limits, { approvals, settled }),
        entry: base,
      };
    }
    case 'approvalDecided': {
      if (!record) return { kind: 'unrelated', reason: 'decision of an unknown approval' };
      const v = b.value;
      const reviewer = v.reviewer && v.reviewer.sub !== '' ? fromProtoIdentity(v.reviewer) : undefined;
      const signed = v.keyId !== '' || v.signature.length > 0;
      const notice = !signed && GATEWAY_NOTICES.includes(v.outcome);
      const r = record.request;
      if (notice && v.outcome === NOTICE_HOLDING) {
        if (record.decision || v.sessionId !== r.sessionId || v.nodeId !== r.nodeId) {
          return { kind: 'renewed', record: { ...record, events: record.events + 1 } };
        }
        const until = v.expiresMicros;
        const heldUntilMicros =
          record.heldUntilMicros === undefined || until > record.heldUntilMicros
            ? until
            : record.heldUntilMicros;
        return { kind: 'renewed', record: { ...record, heldUntilMicros, events: record.events + 1 } };
      }
      const outcome = notice && v.outcome === NOTICE_WAITED ? undefined : asOutcome(v.outcome);
      const base = entry({
        kind: 'decided',
        atMicros: at,
        eventId: event.eventId,
        actor: reviewer,
        outcome: outcome ?? '',
        reason: v.reason,
      });
      let ignoredWhy: string | undefined;
      if (notice && (v.sessionId !== r.sessionId || v.nodeId !== r.nodeId)) {
        ignoredWhy = "a gateway notice that does not name the request's session and node";
      } else if (notice && v.outcome === NOTICE_WAITED) {
        const e = { ...base, ignored: 'not a decision: the gateway was still waiting at the expiry' };
        return {
          kind: 'decided',
          record: withEntry(record, e, limits, record.decision ? {} : { waited: true }),
          entry: e,
        };
      } else if (outcome === undefined) {
        ignoredWhy = `unknown outcome ${JSON.stringify(v.outcome.slice(0, 40))}`;
      } else if (!notice && limits.trustedKeys) {
        // The same checks as the gateway's, against what the request said: the service's state never shows an
        // outcome that no gateway would act on.
        const verified = verifyDecisionSignature(event, limits.trustedKeys);
        const refusal = verified.ok
          ? checkDecisionFor(verified.claims, {
              approvalId: r.id,
              sessionId: r.sessionId,
              requestId: r.requestId,
              requestDigest: r.digest,
              expiresMicros: r.expiresMicros,
              requesterSub: r.requester.sub,
              groups: r.groups,
              approvalsNeeded: r.approvalsNeeded,
            })
          : verified;
        if (refusal) ignoredWhy = `not a valid signed decision: ${refusal.reason}`;
      }
      if (ignoredWhy === undefined && record.decision) {
        ignoredWhy = `the request was already ${record.decision.outcome}`;
      }
      if (ignoredWhy !== undefined || outcome === undefined) {
        const ignored = { ...base, ignored: ignoredWhy ?? 'invalid decision' };
        return { kind: 'decided', record: withEntry(record, ignored, limits), entry: ignored };
      }
      const approvers: Identity[] = v.approvers.map((p) => fromProtoIdentity(p));
      const decision = {
        outcome,
        reviewer,
        reason: v.reason,
        approvers,
        approverGroups: [...v.approverGroups],
        atMicros: at,
        eventId: event.eventId,
        by: event.nodeId,
      };
      return { kind: 'decided', record: withEntry(record, base, limits, { decision }), entry: base };
    }
    default:
      return { kind: 'unrelated', reason: 'not an approval event' };
  }
}
