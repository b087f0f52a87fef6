import type { ApprovalWaiter } from '../approvals/approval-waiter.js';
import { sessionDecidedBody } from '../approvals/approval-notices.js';
import type { Identity } from '../../shared/identity/index.js';
import type { Logger } from '../../shared/logger.js';
import { sqlFingerprint } from '../policy/index.js';
import { decisionEvent, requestEvent } from '../policy/decision-events.js';
import { policyInput } from '../policy/policy-input.js';
import type { PolicyEngine, PolicyResult, SqlRequest } from '../policy/index.js';
import type { SessionAudit } from '../session-audit.js';
import type { SqlAnalysis } from '../sql/index.js';
import type { LineageCache } from '../sql/lineage/index.js';
import type { SqlLineage } from '../sql/lineage/index.js';
import { decisionMask, reattach, withColumns } from './lineage-masks.js';
import { pinnedViolations } from './pinned-settings.js';
import type { SqlDecider, SqlVerdict } from './verdict.js';

export type SqlDeciderDeps = {
  /** Current policy (read on every request, so a reloaded bundle takes effect at once). */
  policy: () => PolicyEngine;
  /** Analysis plus column lineage per SQL text (cached; the connection's catalog). */
  lineage: LineageCache;
  audit: SessionAudit;
  identity: Identity;
  connection: { name: string; tags: Readonly<Record<string, string>> };
  clientAddr: string;
  startedAt: number;
  log: Logger;
  onDecision: (result: PolicyResult) => void;
  /** Absent: approval-required requests are refused with the policy's reasons. */
  approvals?: ApprovalWaiter;
};

const AUDIT_UNAVAILABLE = 'audit log unavailable: statement not forwarded';

/**
 * Decides one SQL text: real PostgreSQL parser analysis, one policy evaluation over all its statements, then the
 * `request` and `decision` events. Anything the analysis does not prove read-only (or that policy wants audited
 * "sync") is forwarded only after both events are acknowledged by Kafka; a refused or failed publish refuses the
 * statement (57P03). Approval-required decisions are held for a reviewer (`hold`), or refused with the policy's
 * reasons when the node has no approval service configured.
 */
export function createSqlDecider(d: SqlDeciderDeps): SqlDecider {
  return (text, requestId, kind, options) => {
    const first = d.lineage.analyze(text);
    const analyzed = options?.analysis ?? first.analysis;
    // Statements standing for a named one carry that one's column references (policy input `columns`).
    const resolved = withColumns(options?.resolve ? options.resolve(analyzed) : analyzed, d.lineage);
    // A relation the catalog does not know (created since it was loaded) would be masked whole: reload it first.
    if (first.unknownRelations) {
      return d.lineage.refresh().then((changed) => {
        if (!changed) return decideOn(first, resolved);
        const fresh = d.lineage.analyze(text);
        return decideOn(fresh, reattach(resolved, first, fresh, d.lineage));
      });
    }
    return decideOn(first, resolved);

    function decideOn(lineage: SqlLineage, analysis: SqlAnalysis): SqlVerdict | Promise<SqlVerdict> {
      // Approvals bind to what runs: for EXECUTE p / FETCH c, also the statement behind the name.
      const bound = boundText(text, analysis);
      const request: SqlRequest = { kind: 'sql', fingerprint: sqlFingerprint(bound), sql: analysis };
      const input = policyInput(
        { ...d, protocol: 'postgres' },
        request,
        d.approvals?.grantsFor(d.identity.sub, d.connection.name, request.fingerprint) ?? [],
      );
      const evaluated = d.policy().evaluate(input);
      // Settings the gateway parses by are never changeable, whatever the policy says.
      const pinned = pinnedViolations(analysis.statements);
      const result: typeof evaluated =
        pinned.length === 0
          ? evaluated
          : {
              ...evaluated,
              decision: {
                ...evaluated.decision,
                allow: false,
                reasons: pinned,
                approval: { ...evaluated.decision.approval, required: false },
              },
            };
      d.onDecision(result);
      if (result.failedClosed)
        d.log.warn({ failure: result.failure, request: requestId }, 'policy failed closed');
      const { decision, revision } = result;
      const readOnly = analysis.parse_error === null && analysis.statements.every((s) => s.read_only);
      const approval = !decision.allow && decision.approval.required;
      const allow = decision.allow;
      const reasons =
        approval && !d.approvals
          ? [
              ...decision.reasons,
              `approval required from ${decision.approval.groups.join(', ') || 'a reviewer'}`,
            ]
          : decision.reasons;
      const batched = readOnly && decision.audit === 'batched';
      // Column masking follows lineage: decided here once per request, applied per result set, never per row.
      const mask = decisionMask(decision.mask, lineage, analysis, options?.analysis !== undefined, d.lineage);

      const requestBody = requestEvent(requestId, kind, text, request);
      const decisionBody = decisionEvent(
        requestId,
        result,
        reasons,
        allow && input.grants.length > 0 ? input.grants[0]!.id : '',
      );
      const verdict: SqlVerdict = { allow, reasons, sqlstate: '42501', mask, batched, revision };
      const unavailable = (err: unknown): SqlVerdict => {
        d.log.warn(
          { err: { code: (err as { code?: string }).code, message: (err as Error).message } },
          AUDIT_UNAVAILABLE,
        );
        return {
          allow: false,
          reasons: [AUDIT_UNAVAILABLE],
          sqlstate: '57P03',
          mask: null,
          batched: false,
          revision,
        };
      };
      const held = (): SqlVerdict =>
        approval && d.approvals
          ? {
              ...verdict,
              hold: (notify, signal) =>
                holdForApproval(d, d.approvals!, {
                  text: bound,
                  requestId,
                  request,
                  decision,
                  revision,
                  mask,
                  notify,
                  signal,
                }),
            }
          : verdict;
      try {
        d.audit.assertAccepting();
        d.audit.batched(requestBody, revision);
        if ((allow && !batched) || approval) {
          // State may change: forward only once the request and its decision are durable.
          return d.audit.durable(decisionBody, revision).then(held, unavailable);
        }
        d.audit.batched(decisionBody, revision);
      } catch (err) {
        return unavailable(err);
      }
      return verdict;
    }
  };
}

/** `text`, plus the statement each resolved name stands for (what a reviewer must see and a grant binds to). */
export function boundText(text: string, analysis: SqlAnalysis): string {
  const lines = [text];
  for (const s of analysis.statements) {
    const ref = s.name_ref;
    if (ref?.known === true && ref.statement !== null)
      lines.push(`-- gatehouse: ${ref.kind} "${ref.name ?? ''}" is: ${ref.statement.text}`);
  }
  return lines.join('\n');
}

type HoldContext = {
  text: string;
  requestId: number;
  request: SqlRequest;
  decision: PolicyResult['decision'];
  revision: string;
  mask: SqlVerdict['mask'];
  notify: (message: string) => void;
  signal: AbortSignal;
};

/**
 * Publishes the approval request (durably, on the approvals topic and the session stream), tells the client
 * where to approve, waits for the first decision, records it on the session stream, and returns the verdict.
 */
async function holdForApproval(
  d: SqlDeciderDeps,
  waiter: ApprovalWaiter,
  h: HoldContext,
): Promise<SqlVerdict> {
  const refuse = (sqlstate: string, reasons: string[]): SqlVerdict => ({
    allow: false,
    reasons,
    sqlstate,
    mask: null,
    batched: false,
    revision: h.revision,
  });
  const a = h.decision.approval;
  const pending = waiter.request({
    sessionId: d.audit.sessionId,
    requester: d.identity,
    connection: d.connection,
    protocol: 'postgres',
    requestText: h.text,
    fingerprint: h.request.fingerprint,
    reasons: h.decision.reasons,
    groups: a.groups,
    approvalsNeeded: a.approvals_needed,
    ttlSeconds: a.ttl_seconds,
    reuseSeconds: a.reuse_seconds,
    requestId: h.requestId,
    policyRevision: h.revision,
    onRefused: (security) => d.audit.batched({ case: 'security', value: security }, h.revision),
  });
  const onAbort = (): void => waiter.cancel(pending.approvalId);
  h.signal.addEventListener('abort', onAbort, { once: true });
  try {
    d.audit.batched({ case: 'approvalRequested', value: pending.requested }, h.revision);
    h.notify(
      `gatehouse: approval required (${h.decision.reasons.join('; ')}); waiting for ${a.approvals_needed} ` +
        `approval(s) from ${a.groups.join(', ')}: approval ${pending.approvalId} at ${pending.approveUrl} ` +
        `(expires ${pending.expiresAt.toISOString()})`,
    );
    const o = await pending.outcome;
    const reviewer = o.reviewer ? `${o.reviewer.email || o.reviewer.sub}` : '';
    await d.audit.durable(
      {
        case: 'approvalDecided',
        value: sessionDecidedBody(pending.approvalId, h.requestId, o),
      },
      h.revision,
    );
    switch (o.outcome) {
      case 'approved':
        return {
          allow: true,
          reasons: [`approved by ${o.approvers.map((x) => x.email || x.sub).join(', ') || reviewer}`],
          sqlstate: '',
          mask: h.mask,
          batched: false,
          revision: h.revision,
        };
      case 'rejected':
        return refuse('42501', [`approval ${pending.approvalId} rejected by ${reviewer}: ${o.reason}`]);
      case 'expired':
        return refuse('42501', [`approval ${pending.approvalId} expired without a decision`]);
      default:
        return refuse('57P03', [
          `approval service unavailable: ${o.reason || 'no decision could be obtained'}`,
        ]);
    }
  } catch (err) {
    d.log.warn({ err: { message: (err as Error).message } }, AUDIT_UNAVAILABLE);
    return refuse('57P03', [AUDIT_UNAVAILABLE]);
  } finally {
    h.signal.removeEventListener('abort', onAbort);
  }
}
