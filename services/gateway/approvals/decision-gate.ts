import type { ApprovalDecided, Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { DecisionClaims } from '../../shared/signing/decision-claims.js';
import { checkDecisionFor, verifyDecisionSignature } from '../../shared/signing/decision-signature.js';
import type { DecisionRefusal, HeldRequest, SignedOutcome } from '../../shared/signing/decision-signature.js';
import type { TrustedKeys } from '../../shared/signing/signing-keys.js';

export type GateRefusal = {
  readonly code: DecisionRefusal['code'] | 'unexpected_notice';
  readonly reason: string;
};

/** What the gateway does with one `approval.decided` read from the approvals topic. */
export type GateVerdict =
  /** Not for this node to act on (a gateway notice, or an unverifiable decision about nobody's request here). */
  | { readonly kind: 'skip' }
  /** Refused: ignored, and recorded as a security event (on the session stream when `held`). */
  | { readonly kind: 'refuse'; readonly refusal: GateRefusal }
  /** A verified decision: settles the held request (if any) and may become a reuse grant. */
  | {
      readonly kind: 'accept';
      readonly claims: DecisionClaims & { readonly outcome: SignedOutcome };
      readonly body: ApprovalDecided;
    };

/**
 * Judges a decision event. `held` is what this node itself recorded when it held the request the decision names
 * (undefined when it holds none); `ownNode` says whether the decision names this node (refusals about requests this
 * node no longer holds are still worth a log line). Pure.
 *
 * - A gateway's unsigned notice (`abandoned`, `waited`) never decides anything; one about a request this node still
 *   holds cannot be this node's own, so it is refused. A `holding` notice (a hold-lease renewal, this node's own
 *   when it holds the request) is skipped.
 * - Anything else must be signed by a pinned key over exactly what it claims, and (when held) decide exactly the
 *   held request, by reviewers of the rule's groups, in time.
 */
export function judgeDecision(
  event: Event,
  held: HeldRequest | undefined,
  trustedKeys: TrustedKeys,
  ownNode: boolean,
): GateVerdict {
  if (event.body.case !== 'approvalDecided') return { kind: 'skip' };
  const d = event.body.value;
  const unsigned = d.keyId === '' && d.signature.length === 0;
  if (unsigned && d.outcome === 'holding') return { kind: 'skip' };
  if (unsigned && (d.outcome === 'abandoned' || d.outcome === 'waited')) {
    return held
      ? {
          kind: 'refuse',
          refusal: {
            code: 'unexpected_notice',
            reason: 'a gateway notice about a request this node still holds',
          },
        }
      : { kind: 'skip' };
  }
  const verified = verifyDecisionSignature(event, trustedKeys);
  if (!verified.ok) {
    return held || ownNode
      ? { kind: 'refuse', refusal: { code: verified.code, reason: verified.reason } }
      : { kind: 'skip' };
  }
  const refusal = held ? checkDecisionFor(verified.claims, held) : undefined;
  if (refusal) return { kind: 'refuse', refusal };
  return { kind: 'accept', claims: verified.claims, body: d };
}
