import type { ApprovalWaiter } from '../approvals/approval-waiter.js';
import { sessionDecidedBody } from '../approvals/approval-notices.js';
import type { SshApprovalHook } from './approval-hook.js';

/**
 * The SSH approval hook on the node's `ApprovalWaiter`: publishes `approval.requested` (approvals topic, durably,
 * and the session stream), tells the client where to approve, waits for the first decision (bounded by the
 * decision's ttl; the client going away cancels it), records `approval.decided` durably on the session stream and
 * returns the outcome. A failed publish throws (the decider refuses the request, fail closed).
 */
export function createSshApprovalHook(waiter: ApprovalWaiter): SshApprovalHook {
  return async (req) => {
    const a = req.decision.approval;
    const pending = waiter.request({
      sessionId: req.audit.sessionId,
      requester: req.identity,
      connection: req.connection,
      protocol: 'ssh',
      requestText: req.text === '' ? req.kind : req.text,
      fingerprint: req.request.fingerprint,
      reasons: req.decision.reasons,
      groups: a.groups,
      approvalsNeeded: a.approvals_needed,
      ttlSeconds: a.ttl_seconds,
      reuseSeconds: a.reuse_seconds,
      requestId: req.requestId,
      policyRevision: req.revision,
      onRefused: (security) => req.audit.batched({ case: 'security', value: security }, req.revision),
    });
    const onAbort = (): void => waiter.cancel(pending.approvalId);
    req.signal.addEventListener('abort', onAbort, { once: true });
    try {
      req.audit.batched({ case: 'approvalRequested', value: pending.requested }, req.revision);
      req.onPending({ approvalId: pending.approvalId, url: pending.approveUrl });
      const o = await pending.outcome;
      await req.audit.durable(
        {
          case: 'approvalDecided',
          value: sessionDecidedBody(pending.approvalId, req.requestId, o),
        },
        req.revision,
      );
      const reviewer = o.reviewer ? o.reviewer.email || o.reviewer.sub : 'a reviewer';
      switch (o.outcome) {
        case 'approved':
          return {
            approved: true,
            reasons: [`approved by ${o.approvers.map((x) => x.email || x.sub).join(', ') || reviewer}`],
            grantId: pending.approvalId,
          };
        case 'rejected':
          return {
            approved: false,
            reasons: [`approval ${pending.approvalId} rejected by ${reviewer}: ${o.reason}`],
          };
        case 'expired':
          return { approved: false, reasons: [`approval ${pending.approvalId} expired without a decision`] };
        default:
          return {
            approved: false,
            reasons: [`approval service unavailable: ${o.reason || 'no decision could be obtained'}`],
          };
      }
    } finally {
      req.signal.removeEventListener('abort', onAbort);
    }
  };
}
