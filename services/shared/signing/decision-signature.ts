import { sign, verify } from 'node:crypto';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { canonicalDecision, claimsFromEvent } from './decision-claims.js';
import type { DecisionClaims, SignedIdentity } from './decision-claims.js';
import type { SigningKey, TrustedKeys } from './signing-keys.js';

/** Outcomes a signed decision may carry. */
export const SIGNED_OUTCOMES = ['approved', 'rejected', 'expired', 'abandoned'] as const;
export type SignedOutcome = (typeof SIGNED_OUTCOMES)[number];

/** Why a decision is not trusted (the `code` of the security event that records it). */
export type RefusalCode =
  | 'unsigned'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_request'
  | 'reviewer_not_allowed'
  | 'outside_time'
  | 'bad_outcome';

export type DecisionRefusal = { readonly code: RefusalCode; readonly reason: string };

export type VerifiedDecision =
  | { readonly ok: true; readonly claims: DecisionClaims & { readonly outcome: SignedOutcome } }
  | ({ readonly ok: false; readonly claims: DecisionClaims | undefined } & DecisionRefusal);

/** Signs `claims` with `key` (the key id becomes part of what is signed). Ed25519 is deterministic. Pure. */
export function signDecision(
  claims: Omit<DecisionClaims, 'keyId'>,
  key: SigningKey,
): { keyId: string; signature: Uint8Array } {
  const bytes = canonicalDecision({ ...claims, keyId: key.keyId });
  return { keyId: key.keyId, signature: new Uint8Array(sign(null, bytes, key.privateKey)) };
}

function isSignedOutcome(o: string): o is SignedOutcome {
  return (SIGNED_OUTCOMES as readonly string[]).includes(o);
}

/**
 * Checks that an `approval.decided` event is signed, by a pinned key, over exactly the claims it makes. Says nothing
 * about which request it may resume (see `checkDecisionFor`). Pure.
 */
export function verifyDecisionSignature(event: Event, keys: TrustedKeys): VerifiedDecision {
  const claims = claimsFromEvent(event);
  const refuse = (code: RefusalCode, reason: string): VerifiedDecision => ({
    ok: false,
    claims,
    code,
    reason,
  });
  if (!claims || event.body.case !== 'approvalDecided') return refuse('bad_outcome', 'not a decision');
  const signature = event.body.value.signature;
  if (claims.keyId === '' || signature.length === 0) return refuse('unsigned', 'the decision is not signed');
  const key = keys.get(claims.keyId);
  if (!key) {
    return refuse(
      'unknown_key',
      `the decision is signed with key ${JSON.stringify(claims.keyId.slice(0, 64))}, which is not pinned`,
    );
  }
  let valid = false;
  try {
    valid = verify(null, canonicalDecision(claims), key, signature);
  } catch {
    valid = false; // a malformed signature (wrong length) is simply invalid
  }
  if (!valid) return refuse('bad_signature', `the signature does not verify with key ${claims.keyId}`);
  if (!isSignedOutcome(claims.outcome)) {
    return refuse('bad_outcome', `unknown outcome ${JSON.stringify(claims.outcome.slice(0, 40))}`);
  }
  return { ok: true, claims: { ...claims, outcome: claims.outcome } };
}

/** What the gateway itself knew about the request when it held it. */
export type HeldRequest = {
  readonly approvalId: string;
  readonly sessionId: string;
  readonly requestId: number;
  readonly requestDigest: string;
  readonly expiresMicros: bigint;
  readonly requesterSub: string;
  /** The approver groups the policy rule named. */
  readonly groups: readonly string[];
  readonly approvalsNeeded: number;
};

/** A reviewer counts when they are not the requester, not an agent, and in one of the rule's groups. */
function mayReview(i: SignedIdentity, held: HeldRequest): boolean {
  return i.sub !== held.requesterSub && !i.agent && i.groups.some((g) => held.groups.includes(g));
}

/**
 * Whether verified claims decide exactly this held request: same approval, session, request number, request digest
 * and expiry; an approval decided in time by enough distinct reviewers of the rule's groups (taken from the signed
 * identities, not from the approval service's word); a rejection by such a reviewer. Expiry and abandonment only
 * end a wait and need no reviewer. Pure.
 */
export function checkDecisionFor(claims: DecisionClaims, held: HeldRequest): DecisionRefusal | undefined {
  const mismatch = (
    [
      ['approval id', claims.approvalId === held.approvalId],
      ['session', claims.sessionId === held.sessionId],
      ['request id', claims.requestId === held.requestId],
      ['request digest', claims.requestDigest === held.requestDigest],
      ['expiry', claims.expiresMicros === held.expiresMicros],
    ] as const
  ).find(([, same]) => !same);
  if (mismatch) {
    return { code: 'wrong_request', reason: `the decision is for another request (${mismatch[0]} differs)` };
  }
  if (claims.outcome === 'approved') {
    if (claims.decidedMicros > held.expiresMicros) {
      return { code: 'outside_time', reason: 'the approval was decided after the request expired' };
    }
    const counted = new Set(claims.approvers.filter((a) => mayReview(a, held)).map((a) => a.sub));
    if (counted.size < Math.max(1, held.approvalsNeeded)) {
      return {
        code: 'reviewer_not_allowed',
        reason:
          `${counted.size} of ${Math.max(1, held.approvalsNeeded)} required approvers are members of ` +
          `${held.groups.join(', ') || 'the approver groups'} (and neither the requester nor an agent)`,
      };
    }
    if (!claims.reviewer || !counted.has(claims.reviewer.sub)) {
      return {
        code: 'reviewer_not_allowed',
        reason: 'the deciding reviewer is not one of the counted approvers',
      };
    }
  }
  if (claims.outcome === 'rejected' && (!claims.reviewer || !mayReview(claims.reviewer, held))) {
    return {
      code: 'reviewer_not_allowed',
      reason: `the rejecting reviewer is not a member of ${held.groups.join(', ') || 'the approver groups'}`,
    };
  }
  return undefined;
}
