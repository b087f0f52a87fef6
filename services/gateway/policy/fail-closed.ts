import { DETECTORS } from './types.js';
import type { Decision, PolicyFailure, PolicyResult } from './types.js';

/** Longest cause text put into a fail-closed reason. */
const MAX_CAUSE_LENGTH = 200;

/** The reason prefix of every fail-closed decision. */
export const FAIL_CLOSED_REASON_PREFIX = 'policy evaluation failed: ';

/**
 * The decision used when the policy cannot decide: deny, synchronous audit, every detector on. Built fresh on
 * each call so callers cannot corrupt a shared value.
 */
export function failClosedDecision(cause: string): Decision {
  return {
    allow: false,
    reasons: [FAIL_CLOSED_REASON_PREFIX + shortCause(cause)],
    approval: { required: false, groups: [], approvals_needed: 0, ttl_seconds: 0, reuse_seconds: 0 },
    mask: { columns: [], fields: [], detectors: [...DETECTORS] },
    audit: 'sync',
  };
}

export function failClosedResult(failure: PolicyFailure, revision: string, evalMicros: number): PolicyResult {
  return { failedClosed: true, decision: failClosedDecision(failure.message), revision, evalMicros, failure };
}

/** First line, bounded. */
export function shortCause(cause: string): string {
  const line = cause.split('\n', 1)[0]?.trim() ?? '';
  const text = line === '' ? 'unknown error' : line;
  return text.length > MAX_CAUSE_LENGTH ? `${text.slice(0, MAX_CAUSE_LENGTH - 1)}…` : text;
}
