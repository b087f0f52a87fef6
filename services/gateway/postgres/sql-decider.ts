import { create } from '@bufbuild/protobuf';
import { DecisionSchema, RequestSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/index.js';
import type { Logger } from '../../shared/logger.js';
import { policyTime, sqlFingerprint } from '../policy/index.js';
import type { PolicyEngine, PolicyInput, PolicyResult, SqlRequest } from '../policy/index.js';
import type { SessionAudit } from '../session-audit.js';
import type { SqlAnalysisCache } from '../sql/index.js';
import type { SqlDecider, SqlVerdict } from './verdict.js';

export type SqlDeciderDeps = {
  /** Current policy (read on every request, so a reloaded bundle takes effect at once). */
  policy: () => PolicyEngine;
  analyses: SqlAnalysisCache;
  audit: SessionAudit;
  identity: Identity;
  connection: { name: string; tags: Readonly<Record<string, string>> };
  clientAddr: string;
  startedAt: number;
  log: Logger;
  onDecision: (result: PolicyResult) => void;
};

const AUDIT_UNAVAILABLE = 'audit log unavailable: statement not forwarded';

/**
 * Decides one SQL text: real PostgreSQL parser analysis, one policy evaluation over all its statements, then the
 * `request` and `decision` events. Anything the analysis does not prove read-only (or that policy wants audited
 * "sync") is forwarded only after both events are acknowledged by Kafka; a refused or failed publish refuses the
 * statement (57P03). Approval-required decisions are refused with the policy's reasons until approvals exist.
 */
export function createSqlDecider(d: SqlDeciderDeps): SqlDecider {
  return async (text, requestId, kind) => {
    const analysis = d.analyses.analyze(text);
    const request: SqlRequest = { kind: 'sql', fingerprint: sqlFingerprint(text), sql: analysis };
    const input: PolicyInput = {
      identity: d.identity,
      connection: { name: d.connection.name, protocol: 'postgres', tags: d.connection.tags },
      session: {
        id: d.audit.sessionId,
        node: d.audit.events.nodeId,
        client_addr: d.clientAddr,
        started_at: d.startedAt,
      },
      request,
      time: policyTime(new Date()),
      grants: [],
    };
    const result = d.policy().evaluate(input);
    d.onDecision(result);
    if (result.failedClosed)
      d.log.warn({ failure: result.failure, request: requestId }, 'policy failed closed');
    const { decision, revision } = result;
    const readOnly = analysis.parse_error === null && analysis.statements.every((s) => s.read_only);
    // Approvals are not built yet: a request that needs one is refused with the policy's reasons and the groups.
    const approval = !decision.allow && decision.approval.required;
    const allow = decision.allow;
    const reasons = approval
      ? [...decision.reasons, `approval required from ${decision.approval.groups.join(', ') || 'a reviewer'}`]
      : decision.reasons;
    const batched = readOnly && decision.audit === 'batched';
    const mask =
      decision.mask.columns.length > 0 || decision.mask.detectors.length > 0 ? decision.mask : null;

    const requestBody = {
      case: 'request' as const,
      value: create(RequestSchema, { requestId, kind, text, parsedJson: JSON.stringify(request) }),
    };
    const decisionBody = {
      case: 'decision' as const,
      value: create(DecisionSchema, {
        requestId,
        allow,
        reasons: [...reasons],
        approvalRequired: decision.approval.required,
        approvalGroups: [...decision.approval.groups],
        approvalsNeeded: decision.approval.approvals_needed,
        maskColumns: [...decision.mask.columns],
        maskDetectors: [...decision.mask.detectors],
        audit: decision.audit,
        evalMicros: Math.round(result.evalMicros),
        policyError: result.failedClosed,
        decisionJson: JSON.stringify(decision),
      }),
    };
    const verdict: SqlVerdict = { allow, reasons, sqlstate: '42501', mask, batched, revision };
    try {
      d.audit.assertAccepting();
      if (allow && !batched) {
        // State may change: forward only once the request and its decision are durable.
        d.audit.batched(requestBody, revision);
        await d.audit.durable(decisionBody, revision);
      } else {
        d.audit.batched(requestBody, revision);
        d.audit.batched(decisionBody, revision);
      }
    } catch (err) {
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
    }
    return verdict;
  };
}
