import type { Identity } from '../../shared/identity/identity.js';
import type { ApprovalRecord, Verdict } from './types.js';

/** Why a review does not count. The fold records it; the APIs turn it into an error with `status`. */
export type ReviewRefusal = {
  readonly code:
    | 'self_review'
    | 'not_approver'
    | 'agent_reviewer'
    | 'reason_required'
    | 'decided'
    | 'settled'
    | 'expired'
    | 'hold_lapsed'
    | 'duplicate_approver';
  /** 400, 403 or 409. */
  readonly status: 400 | 403 | 409;
  readonly message: string;
};

function refusal(
  code: ReviewRefusal['code'],
  status: ReviewRefusal['status'],
  message: string,
): ReviewRefusal {
  return { code, status, message };
}

/** The approver groups the reviewer belongs to (sorted). */
export function reviewerGroups(record: ApprovalRecord, reviewer: Identity): string[] {
  const required = new Set(record.request.groups);
  return [...new Set(reviewer.groups.filter((g) => required.has(g)))].sort();
}

/**
 * The rules every review must pass, applied identically by the APIs (before publishing) and by the fold (which
 * decides what counts). Pure. In order: nobody reviews their own request; AI agents never review; only members of
 * the approver groups review; a rejection needs a reason; nothing changes after the decision or once the reviews
 * have settled it; nothing counts at or after the expiry, nor once the holding node's lease lapsed; each approver
 * counts once.
 */
export function checkReview(
  record: ApprovalRecord,
  reviewer: Identity,
  verdict: Verdict,
  reason: string,
  atMicros: bigint,
): ReviewRefusal | undefined {
  const request = record.request;
  if (reviewer.sub === request.requester.sub) {
    return refusal(
      'self_review',
      403,
      verdict === 'approve'
        ? 'self-approval is not allowed: you requested this approval; another member of ' +
            `${request.groups.join(', ') || 'the approver groups'} must approve it`
        : 'you cannot reject your own request',
    );
  }
  if (reviewer.agent) return refusal('agent_reviewer', 403, 'AI agents cannot review approvals');
  if (reviewerGroups(record, reviewer).length === 0) {
    return refusal(
      'not_approver',
      403,
      request.groups.length === 0
        ? 'this request names no approver groups, so nobody may review it'
        : `only members of ${request.groups.join(', ')} may review this request`,
    );
  }
  if (verdict === 'reject' && reason.trim() === '') {
    return refusal('reason_required', 400, 'a rejection requires a reason');
  }
  if (record.decision) return refusal('decided', 409, `the request was already ${record.decision.outcome}`);
  if (record.settled) {
    return refusal(
      'settled',
      409,
      `the request was already ${record.settled.outcome} (the decision is being recorded)`,
    );
  }
  if (atMicros >= request.expiresMicros) return refusal('expired', 409, 'the approval request has expired');
  if (record.heldUntilMicros !== undefined && atMicros >= record.heldUntilMicros) {
    return refusal(
      'hold_lapsed',
      409,
      `gateway node ${request.nodeId} no longer holds the request (its hold lease lapsed: the node is gone)`,
    );
  }
  if (verdict === 'approve' && record.approvals.some((a) => a.reviewer.sub === reviewer.sub)) {
    return refusal(
      'duplicate_approver',
      409,
      `you already approved this request; it needs ${request.approvalsNeeded} distinct approvers`,
    );
  }
  return undefined;
}
