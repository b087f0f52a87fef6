import type { Decision, Request } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { EventBody } from '../../shared/events/session-events.js';
import type { PolicyRequest, PolicyResult } from '../policy/types.js';
import { frozenJson } from './frozen-json.js';
import type { DecisionEventFields } from './types.js';

/** The `request` event of any protocol: the text as sent and the parsed request as policy saw it. */
export function requestEvent(
  requestId: number,
  kind: string,
  text: string,
  request: PolicyRequest,
): EventBody {
  // Every field written out (what `create(RequestSchema, …)` builds, without its per-call reflection: one per request
  // of every protocol). Typed as `Request`, so a field added to the schema fails to compile here.
  const value: Request = {
    $typeName: 'gatehouse.v1.Request',
    requestId,
    kind,
    text,
    parsedJson: frozenJson(request),
  };
  return { case: 'request', value };
}

/**
 * The `decision` event of any protocol, from the engine's result and the reasons shown to the client. A decision
 * reused from the decision memo (`MemoisedResult.memoHit`) is recorded like any other, marked `memo_hit`.
 */
export function decisionEvent(
  requestId: number,
  result: PolicyResult,
  reasons: readonly string[],
  grantApprovalId = '',
  extra: DecisionEventFields = {},
): EventBody {
  const { decision } = result;
  // Every field written out (what `create(DecisionSchema, …)` builds, without its per-call reflection: this runs
  // for every request of every protocol). Typed as `Decision`, so a field added to the schema fails to compile here.
  const value: Decision = {
    $typeName: 'gatehouse.v1.Decision',
    requestId,
    allow: decision.allow,
    reasons: [...reasons],
    approvalRequired: decision.approval.required,
    approvalGroups: [...decision.approval.groups],
    approvalsNeeded: decision.approval.approvals_needed,
    maskColumns: [...decision.mask.columns],
    maskDetectors: [...decision.mask.detectors],
    audit: decision.audit,
    evalMicros: Math.round(result.evalMicros),
    policyError: result.failedClosed,
    decisionJson: frozenJson(decision),
    grantApprovalId,
    argumentsDigest: extra.argumentsDigest ?? '',
    toolChanged: extra.toolChanged ?? false,
    memoHit: 'memoHit' in result && result.memoHit === true,
    inputUnix: BigInt(extra.inputUnix ?? 0),
    inputSessionJson: extra.inputSessionJson ?? '',
    inputGrantsJson: extra.inputGrantsJson ?? '',
  };
  return { case: 'decision', value };
}
