import type { FamilyEntries } from './entry.js';

const NOT_LOADED = '— (the bundle is not loaded; the gateway does not start)';
const REFUSED_RECORD = '— (the node keeps its last good revision; metric, log line and node event)';
const DENIED = 'denied (fail closed): PostgreSQL `ERROR 42501`; SSH exit 126';

/** Policy: a bundle cannot be loaded, or an evaluation fails closed. */
export const policyErrors = {
  GH_ERR_POLICY_BUNDLE_NOT_FOUND: {
    meaning: 'the policy bundle or one of its files does not exist',
    client: NOT_LOADED,
  },
  GH_ERR_POLICY_BUNDLE_UNREADABLE: { meaning: 'the policy bundle cannot be read', client: NOT_LOADED },
  GH_ERR_POLICY_WASM_INVALID: { meaning: "the bundle's WebAssembly module is invalid", client: NOT_LOADED },
  GH_ERR_POLICY_DATA_INVALID: { meaning: "the bundle's data document is invalid", client: NOT_LOADED },
  GH_ERR_POLICY_ENTRYPOINT_MISSING: {
    meaning: 'the bundle lacks the configured entrypoint',
    client: NOT_LOADED,
  },
  GH_ERR_POLICY_UNSUPPORTED_BUILTIN: {
    meaning: 'the policy calls a builtin the engine lacks',
    client: NOT_LOADED,
  },
  GH_ERR_POLICY_REVISION_MISMATCH: {
    meaning: "the bundle's revision differs from the one expected",
    client: NOT_LOADED,
  },
  GH_ERR_POLICY_OPTIONS_INVALID: { meaning: 'the policy engine options are invalid', client: NOT_LOADED },
  GH_ERR_POLICY_RECORD_INVALID: {
    meaning: 'a record on the policies topic is malformed',
    client: REFUSED_RECORD,
  },
  GH_ERR_POLICY_RECORD_UNVERIFIED: {
    meaning: 'a policy record is not signed by a pinned key, or its bytes do not match what is signed',
    client: REFUSED_RECORD,
  },
  GH_ERR_POLICY_REVISION_UNKNOWN: {
    meaning: 'the policy revision asked for is not on the policies topic',
    client: '`gatehouse policy publish` exits 1; nothing is published',
  },
  GH_ERR_POLICY_PUBLISH_FORBIDDEN: {
    meaning: "the publisher's token is not valid or not in an allowed group",
    client: '`gatehouse policy publish` exits 1; nothing is published',
  },
  GH_ERR_POLICY_INPUT_INVALID: { meaning: 'the policy input document is invalid', client: DENIED },
  GH_ERR_POLICY_INPUT_TOO_LARGE: {
    meaning: 'the policy input document exceeds its size bound',
    client: DENIED,
  },
  GH_ERR_POLICY_EVAL_FAILED: { meaning: 'the policy evaluation failed or timed out', client: DENIED },
  GH_ERR_POLICY_DECISION_UNDEFINED: { meaning: 'the policy returned no decision', client: DENIED },
  GH_ERR_POLICY_DECISION_INVALID: {
    meaning: 'the decision does not match the decision contract',
    client: DENIED,
  },
  GH_ERR_MASK_UNKNOWN_DETECTOR: {
    meaning: 'a decision named a masking detector that does not exist: the response is never sent unmasked',
    client: 'the request fails closed',
  },
} as const satisfies FamilyEntries;
