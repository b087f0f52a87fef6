import type { Logger } from '../../shared/logger.js';
import { inputDecisionFields, shadowDecisionEvent } from '../policy/input-record.js';
import { policyInput } from '../policy/policy-input.js';
import type { PolicySessionContext } from '../policy/policy-input.js';
import type { PolicyGrant, PolicyResult } from '../policy/types.js';
import { holdForApproval } from './approval-hold.js';
import { auditUnavailable } from './audit-unavailable.js';
import { decisionEvent, requestEvent } from './decision-events.js';
import type {
  ErrorVerdict,
  HoldHooks,
  PipelineSession,
  RequestDescription,
  RequestPipeline,
  Ruling,
  Verdict,
} from './types.js';

/**
 * The request pipeline of one session (see ./types.ts): input → evaluate → events → hold → verdict.
 *
 * Events: `request` is always batched; `decision` is durable (acks=all, awaited) whenever the request goes forward
 * — allowed and not proven read-only-and-batched, or held for approval — and batched when it is refused. A refused
 * publish (or one that fails) turns the ruling into an `error` verdict: nothing is forwarded (fail closed).
 */
export function createRequestPipeline(s: PipelineSession): RequestPipeline {
  // The session's fields that policy input reads, as a literal of one shape (spreading `s` into a new object on every
  // request was 1.3 % of the HTTP proxy's CPU: a megamorphic copy).
  const context = (protocol: RequestDescription['protocol']): PolicySessionContext => ({
    identity: s.identity,
    connection: s.connection,
    protocol,
    audit: s.audit,
    clientAddr: s.clientAddr,
    startedAt: s.startedAt,
  });
  const rule = (r: RequestDescription): Ruling | Promise<Ruling> => {
    const grants = s.approvals?.grantsFor(s.identity.sub, s.connection.name, r.request.fingerprint) ?? [];
    const input = policyInput(context(r.protocol), r.request, grants);
    const result = withProtocolDenials(s.policy().evaluate(input), r.protocolDenials ?? []);
    s.onDecision(result);
    if (result.failedClosed)
      s.log.warn({ failure: result.failure, request: r.requestId }, 'policy failed closed');
    const { decision, revision } = result;
    const wantsApproval = !decision.allow && decision.approval.required;
    const approvals = wantsApproval ? s.approvals : undefined;
    const reasons =
      wantsApproval && !approvals
        ? [
            ...decision.reasons,
            `approval required from ${decision.approval.groups.join(', ') || 'a reviewer'}`,
          ]
        : decision.reasons;
    const batched = decision.allow && r.durability === 'batched' && decision.audit === 'batched';
    const grant = decision.allow ? usedGrant(decision.grants_used ?? [], grants, s.log) : '';

    const ruling = (): Ruling => {
      if (decision.allow) return { kind: 'allow', reasons, revision, decision, batched, grant };
      if (!approvals) return { kind: 'deny', stage: 'policy', reasons, revision };
      return {
        kind: 'held',
        reasons,
        revision,
        decision,
        wait: (hooks) => holdForApproval(s, approvals, { request: r, decision, revision }, hooks),
      };
    };
    const unavailable = (err: unknown): ErrorVerdict => auditUnavailable(s.log, err, revision);
    try {
      s.audit.assertAccepting();
      s.audit.batched(requestEvent(r.requestId, r.kind, r.text, r.request), revision);
      const decisionBody = decisionEvent(r.requestId, result, reasons, grant, {
        ...r.decisionFields,
        ...inputDecisionFields(input),
      });
      if (result.shadow) s.audit.batched(shadowDecisionEvent(r.requestId, result.shadow), revision);
      // Something may run upstream: forward only once the request and its decision are durable.
      if ((decision.allow && !batched) || approvals)
        return s.audit.durable(decisionBody, revision).then(ruling, unavailable);
      s.audit.batched(decisionBody, revision);
    } catch (err) {
      return unavailable(err);
    }
    return ruling();
  };

  const settle = (ruling: Ruling, hooks: HoldHooks): Verdict | Promise<Verdict> =>
    ruling.kind === 'held' ? ruling.wait(hooks) : ruling;

  return {
    rule,
    evaluate: (r) => s.policy().evaluate(policyInput(context(r.protocol), r.request, [])),
    recordRequest: (r) => s.audit.batched(requestEvent(r.requestId, r.kind, r.text, r.request)),
    decide: (request, hooks) => {
      const ruling = rule(request);
      return ruling instanceof Promise ? ruling.then((x) => settle(x, hooks)) : settle(ruling, hooks);
    },
  };
}

/**
 * Reasons the protocol refuses the request whatever the policy says: the decision becomes a deny with exactly
 * these reasons and no approval (the evaluation itself, its revision and timing, are kept).
 */
function withProtocolDenials(result: PolicyResult, denials: readonly string[]): PolicyResult {
  if (denials.length === 0) return result;
  const { decision } = result;
  return {
    ...result,
    decision: {
      ...decision,
      allow: false,
      reasons: denials,
      approval: { ...decision.approval, required: false },
      grants_used: [],
    },
  };
}

/**
 * The grant an allow relied on, as the decision names it in `grants_used`: the first named grant that was offered
 * in `input.grants`. A decision naming a grant it was not offered is a policy bug: logged, not recorded.
 */
function usedGrant(named: readonly string[], offered: readonly PolicyGrant[], log: Logger): string {
  for (const id of named) if (offered.some((g) => g.id === id)) return id;
  if (named.length > 0) log.warn({ grants: named.slice(0, 10) }, 'policy names grants it was not offered');
  return '';
}
