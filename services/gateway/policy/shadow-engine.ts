import type { PolicyEngine } from './engine.js';
import type { Decision, DecisionOutcome, PolicyInput, PolicyResult } from './types.js';

/** allow, deny, or approval (a deny that a reviewer may turn into an allow). */
export function decisionOutcome(decision: Decision): DecisionOutcome {
  if (decision.allow) return 'allow';
  return decision.approval.required ? 'approval' : 'deny';
}

/**
 * The active engine with a shadow candidate evaluated on the same input: the active result decides, and carries
 * `shadow` only when the candidate's outcome differs (what the pipeline records as a `shadow_decision` event).
 */
export function withShadow(active: PolicyEngine, shadow: PolicyEngine): PolicyEngine {
  return Object.freeze({
    revision: active.revision,
    entrypoint: active.entrypoint,
    shadowRevision: shadow.revision,
    evaluate(input: PolicyInput): PolicyResult {
      const result = active.evaluate(input);
      const candidate = shadow.evaluate(input);
      const activeOutcome = decisionOutcome(result.decision);
      const outcome = decisionOutcome(candidate.decision);
      if (outcome === activeOutcome) return result;
      return {
        ...result,
        shadow: {
          revision: shadow.revision,
          outcome,
          activeOutcome,
          decision: candidate.decision,
          failedClosed: candidate.failedClosed,
        },
      };
    },
  });
}
