import type { ApprovalWaiter } from '../approvals/approval-waiter.js';
import { logError } from '../../shared/log-error.js';
import { sessionDecidedBody } from '../approvals/approval-notices.js';
import type { Identity } from '../../shared/identity/index.js';
import type { Logger } from '../../shared/logger.js';
import { decisionEvent, requestEvent } from '../policy/decision-events.js';
import { policyInput } from '../policy/policy-input.js';
import type { Decision, McpRequest, PolicyEngine, PolicyResult } from '../policy/index.js';
import type { SessionAudit } from '../session-audit.js';

/**
 * The MCP gateway's one call into the decision machinery (policy → request/decision events → approval hold →
 * verdict). It is the adapter to swap for the protocol-neutral request pipeline (services/gateway/pipeline) once
 * that lands: nothing else in services/gateway/mcp evaluates policy or publishes request/decision events.
 */

export type McpVerdict = {
  readonly allow: boolean;
  /** Shown to the client on refusal (JSON-RPC error message) and recorded. */
  readonly reasons: readonly string[];
  /** The policy's decision when allowed (masking: `mask.fields`, `mask.detectors`). */
  readonly decision: Decision | undefined;
  readonly revision: string;
  /** true when the refusal is the gateway's failure (audit log or approval service unavailable), not policy. */
  readonly unavailable: boolean;
};

export type McpDecideRequest = {
  readonly audit: SessionAudit;
  readonly requestId: number;
  /** `Request.kind`: `mcp.<method>` (or `mcp.response`). */
  readonly kind: string;
  /** `Request.text`: the JSON-RPC message as forwarded. */
  readonly text: string;
  /** What a reviewer is shown and an approval's digest covers: `server: tools/call tool {args}`. */
  readonly display: string;
  readonly request: McpRequest;
  /** The protocol proved the message read-only (listings, handshakes): its events may be batched. */
  readonly readOnly: boolean;
  readonly identity: Identity;
  readonly connection: { readonly name: string; readonly tags: Readonly<Record<string, string>> };
  readonly clientAddr: string;
  readonly startedAt: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Called once a held request's approval request is published: tell the client why it waits and where. */
  readonly onHeld: (held: { approvalId: string; approveUrl: string; reasons: readonly string[] }) => void;
};

export type McpDeciderDeps = {
  policy: () => PolicyEngine;
  approvals: ApprovalWaiter | undefined;
  onDecision: (result: PolicyResult) => void;
  /** For evaluations outside a session's own log (tools/list filtering). */
  log: Logger;
};

export type McpDecider = {
  /** Decides one client message and records its `request` and `decision` (and approval) events. */
  decide(req: McpDecideRequest): Promise<McpVerdict>;
  /** Records the `request` event of a message the gateway answers itself (unknown method): never decided. */
  recordUndecided(req: Pick<McpDecideRequest, 'audit' | 'requestId' | 'kind' | 'text' | 'request'>): void;
  /** Evaluates without recording (tools/list filtering: may this listed tool be shown?). */
  evaluate(
    req: Pick<McpDecideRequest, 'audit' | 'request' | 'identity' | 'connection' | 'clientAddr' | 'startedAt'>,
  ): PolicyResult;
};

const AUDIT_UNAVAILABLE = 'audit log unavailable: request not forwarded';

export function createMcpDecider(d: McpDeciderDeps): McpDecider {
  const evaluate: McpDecider['evaluate'] = (req) => {
    const grants =
      req.request.mcp.phase === 'call'
        ? (d.approvals?.grantsFor(req.identity.sub, req.connection.name, req.request.fingerprint) ?? [])
        : [];
    const input = policyInput({ ...req, protocol: 'mcp' }, req.request, grants);
    return d.policy().evaluate(input);
  };

  return {
    evaluate,
    recordUndecided(req) {
      req.audit.batched(requestEvent(req.requestId, req.kind, req.text, req.request));
    },
    async decide(req) {
      const result = evaluate(req);
      d.onDecision(result);
      if (result.failedClosed)
        req.log.warn({ failure: result.failure, request: req.requestId }, 'policy failed closed');
      const { decision, revision } = result;
      const needsApproval = !decision.allow && decision.approval.required;
      const waiter = needsApproval ? d.approvals : undefined;
      const reasons =
        needsApproval && !waiter
          ? [
              ...decision.reasons,
              `approval required from ${decision.approval.groups.join(', ') || 'a reviewer'}`,
            ]
          : decision.reasons;
      const verdict = (allow: boolean, why: readonly string[], unavailable = false): McpVerdict => ({
        allow,
        reasons: why,
        decision: allow ? decision : undefined,
        revision,
        unavailable,
      });
      const decisionBody = decisionEvent(req.requestId, result, reasons);
      if (decisionBody.case === 'decision') {
        decisionBody.value.argumentsDigest = req.request.mcp.arguments_digest;
        decisionBody.value.toolChanged = req.request.mcp.tool_changed;
      }
      try {
        req.audit.assertAccepting();
        req.audit.batched(requestEvent(req.requestId, req.kind, req.text, req.request), revision);
        // Anything that may reach the upstream is durable first (acks=all); read-only calls may be batched.
        if ((decision.allow && decision.audit === 'sync') || waiter)
          await req.audit.durable(decisionBody, revision);
        else req.audit.batched(decisionBody, revision);
      } catch (err) {
        logError(req.log, err, AUDIT_UNAVAILABLE, { level: 'warn' });
        return verdict(false, [AUDIT_UNAVAILABLE], true);
      }
      if (decision.allow) return verdict(true, reasons);
      if (!waiter) return verdict(false, reasons);
      return hold(waiter, req, decision, revision).then(
        (o) => verdict(o.approved, o.reasons, o.unavailable),
        (err: unknown) => {
          logError(req.log, err, 'approval wait failed');
          return verdict(false, ['approval could not be obtained'], true);
        },
      );
    },
  };
}

/** Publishes the approval request (bound to the exact display text and its fingerprint) and waits for the outcome. */
async function hold(
  waiter: ApprovalWaiter,
  req: McpDecideRequest,
  decision: Decision,
  revision: string,
): Promise<{ approved: boolean; reasons: string[]; unavailable: boolean }> {
  const a = decision.approval;
  const pending = waiter.request({
    sessionId: req.audit.sessionId,
    requester: req.identity,
    connection: req.connection,
    protocol: 'mcp',
    requestText: req.display,
    fingerprint: req.request.fingerprint,
    reasons: decision.reasons,
    groups: a.groups,
    approvalsNeeded: a.approvals_needed,
    ttlSeconds: a.ttl_seconds,
    reuseSeconds: a.reuse_seconds,
    requestId: req.requestId,
    policyRevision: revision,
    onRefused: (security) => req.audit.batched({ case: 'security', value: security }, revision),
  });
  const onAbort = (): void => waiter.cancel(pending.approvalId);
  req.signal.addEventListener('abort', onAbort, { once: true });
  try {
    req.audit.batched({ case: 'approvalRequested', value: pending.requested }, revision);
    req.log.info({ approval: pending.approvalId, url: pending.approveUrl }, 'mcp request held for approval');
    req.onHeld({ approvalId: pending.approvalId, approveUrl: pending.approveUrl, reasons: decision.reasons });
    const o = await pending.outcome;
    await req.audit.durable(
      { case: 'approvalDecided', value: sessionDecidedBody(pending.approvalId, req.requestId, o) },
      revision,
    );
    const who = (o.approvers.length > 0 ? o.approvers : o.reviewer ? [o.reviewer] : []).map(
      (x) => x.email || x.sub,
    );
    switch (o.outcome) {
      case 'approved':
        return {
          approved: true,
          reasons: [`approved by ${who.join(', ') || 'a reviewer'} (approval ${pending.approvalId})`],
          unavailable: false,
        };
      case 'rejected':
        return {
          approved: false,
          reasons: [
            `approval ${pending.approvalId} rejected by ${who.join(', ') || 'a reviewer'}: ${o.reason}`,
          ],
          unavailable: false,
        };
      case 'expired':
        return {
          approved: false,
          reasons: [`approval ${pending.approvalId} expired without a decision`],
          unavailable: false,
        };
      default:
        return {
          approved: false,
          reasons: [`approval service unavailable: ${o.reason || 'no decision could be obtained'}`],
          unavailable: true,
        };
    }
  } finally {
    req.signal.removeEventListener('abort', onAbort);
  }
}
