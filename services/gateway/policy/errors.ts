import { PolicyError } from '../../shared/errors.js';
import type { ErrorCode } from '../../shared/errors.js';

/**
 * Stable codes of policy bundle load failures. Never reused. (Evaluation failures are not thrown: they come back
 * as a fail-closed `PolicyResult`, see `PolicyFailureCode` in types.ts.)
 */
export const PolicyLoadErrorCode = {
  bundleNotFound: 'GH_ERR_POLICY_BUNDLE_NOT_FOUND',
  bundleUnreadable: 'GH_ERR_POLICY_BUNDLE_UNREADABLE',
  wasmInvalid: 'GH_ERR_POLICY_WASM_INVALID',
  dataInvalid: 'GH_ERR_POLICY_DATA_INVALID',
  entrypointMissing: 'GH_ERR_POLICY_ENTRYPOINT_MISSING',
  unsupportedBuiltin: 'GH_ERR_POLICY_UNSUPPORTED_BUILTIN',
  revisionMismatch: 'GH_ERR_POLICY_REVISION_MISMATCH',
  optionsInvalid: 'GH_ERR_POLICY_OPTIONS_INVALID',
  recordInvalid: 'GH_ERR_POLICY_RECORD_INVALID',
  recordUnverified: 'GH_ERR_POLICY_RECORD_UNVERIFIED',
  revisionUnknown: 'GH_ERR_POLICY_REVISION_UNKNOWN',
  publishForbidden: 'GH_ERR_POLICY_PUBLISH_FORBIDDEN',
} as const satisfies Record<string, ErrorCode>;

export type PolicyLoadErrorCode = (typeof PolicyLoadErrorCode)[keyof typeof PolicyLoadErrorCode];

/** A policy bundle could not be loaded. The message names the file and the problem, never policy data. */
export class PolicyLoadError extends PolicyError {
  declare readonly code: PolicyLoadErrorCode;

  constructor(code: PolicyLoadErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
