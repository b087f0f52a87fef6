/**
 * The gateway's public entry point for the `gatehouse` command (services/cli, the composition root): what the
 * policy commands share with the nodes — the engine exactly as a node loads and evaluates it, the policy input
 * builder, the input's schema validator, and the policy errors.
 */
export {
  BUNDLE_FILES,
  createPolicyEngine,
  loadPolicyBundle,
  PolicyLoadError,
  PolicyLoadErrorCode,
  policyTime,
} from './policy/index.js';
export type { PolicyBundle, PolicyEngine, PolicyInput, PolicyResult, Decision } from './policy/index.js';
export { decisionOutcome } from './policy/shadow-engine.js';
export { reconstructInput, recordedFromEvents } from './policy/input-record.js';
export type { RecordedRequest } from './policy/input-record.js';
export { inputValidator } from './policy/input-validation.js';
export type { InputProblem, InputValidator } from './policy/input-validation.js';
