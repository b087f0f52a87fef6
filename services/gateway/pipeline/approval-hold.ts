import { sessionDecidedBody } from '../approvals/approval-notices.js';
import type { ApprovalOutcome } from '../approvals/waiter-types.js';
import type { Decision } from '../policy/types.js';
import { auditUnavailable } from './audit-unavailable.js';
import type { ApprovalService, HoldHooks, PipelineSession, RequestDescription, Verdict } from './types.js';

type Held = { request: RequestDescription; decision: Decision; revision: string };

/**
 * Holds a request the policy wants approved: publishes `approval.requested` (durably on the approvals topic, by
 * the approval service; batched on the session stream), tells the client where to approve (`hooks.onHeld`), waits
 * for the first decision (bounded by the decision's ttl; the client going away cancels the wait), records
 * `approval.decided` durably on the session stream, and returns the verdict. Never rejects: a failed publish is an
 * `error` verdict (fail closed) and the approval is withdrawn.
 */
export async function holdForApproval(
  s: PipelineSession,
  approvals: ApprovalService,
  h: Held,
  hooks: HoldHooks,
): Promise<Verdict> {
  const { request: r, decision, revision } = h;
  const a = decision.approval;
  const pending = approvals.request({
    sessionId: s.audit.sessionId,
    requester: s.identity,
    connection: s.connection,
    protocol: r.protocol,
    requestText: r.reviewText,
    fingerprint: r.request.fingerprint,
    reasons: decision.reasons,
    groups: a.groups,
    approvalsNeeded: a.approvals_needed,
    ttlSeconds: a.ttl_seconds,
    reuseSeconds: a.reuse_seconds,
    requestId: r.requestId,
    policyRevision: revision,
    onRefused: (security) => s.audit.batched({ case: 'security', value: security }, revision),
  });
  const { approvalId } = pending;
  const cancel = (): void => approvals.cancel(approvalId);
  hooks.signal.addEventListener('abort', cancel, { once: true });
  try {
    s.audit.batched({ case: 'approvalRequested', value: pending.requested }, revision);
    hooks.onHeld({
      approvalId,
      approveUrl: pending.approveUrl,
      expiresAt: pending.expiresAt,
      reasons: decision.reasons,
      groups: a.groups,
      approvalsNeeded: a.approvals_needed,
    });
    if (hooks.signal.aborted) cancel();
    const o = await pending.outcome;
    await s.audit.durable(
      { case: 'approvalDecided', value: sessionDecidedBody(approvalId, r.requestId, o) },
      revision,
    );
    return outcomeVerdict(o, approvalId, decision, revision);
  } catch (err) {
    cancel(); // nobody waits for it any more (a no-op once decided)
    return auditUnavailable(s.log, err, revision);
  } finally {
    hooks.signal.removeEventListener('abort', cancel);
  }
}

/** The verdict for an approval's outcome. */
export function outcomeVerdict(
  o: ApprovalOutcome,
  approvalId: string,
  decision: Decision,
  revision: string,
): Verdict {
  const reviewer = o.reviewer ? o.reviewer.email || o.reviewer.sub : 'a reviewer';
  switch (o.outcome) {
    case 'approved': {
      const approvers = o.approvers.map((x) => x.email || x.sub).join(', ') || reviewer;
      return { kind: 'approved', reasons: [`approved by ${approvers}`], revision, decision, approvalId };
    }
    case 'rejected':
      return {
        kind: 'deny',
        stage: 'approval',
        reasons: [`approval ${approvalId} rejected by ${reviewer}: ${o.reason}`],
        revision,
        approvalId,
      };
    case 'expired':
      return {
        kind: 'deny',
        stage: 'approval',
        reasons: [`approval ${approvalId} expired without a decision`],
        revision,
        approvalId,
      };
    case 'unavailable':
      return {
        kind: 'abandoned',
        reasons: [`approval service unavailable: ${o.reason || 'no decision could be obtained'}`],
        revision,
        approvalId,
      };
    default: {
      const unexpected: never = o.outcome;
      throw new Error(`unexpected approval outcome ${String(unexpected)}`);
    }
  }
}
