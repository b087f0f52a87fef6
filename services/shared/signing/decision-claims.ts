import { createHash } from 'node:crypto';
import type { Event, Identity as ProtoIdentity } from '../../../proto/gen/gatehouse/v1/events_pb.js';

/** Domain separation: a signature over these bytes can never be mistaken for a signature over anything else. */
export const DECISION_SIGNATURE_CONTEXT = 'gatehouse.approval.decided.v1';

/** A reviewer or approver as signed: every field of the event's identity, in event order. */
export type SignedIdentity = {
  readonly sub: string;
  readonly email: string;
  readonly groups: readonly string[];
  readonly agent: boolean;
  readonly issuer: string;
  readonly clientId: string;
};

/**
 * Everything a signed `approval.decided` asserts. The body fields are the `ApprovalDecided` fields of the same name;
 * `requesterSub` and `connection` are the envelope's identity subject and connection name (what a reuse grant is
 * bound to).
 */
export type DecisionClaims = {
  readonly keyId: string;
  readonly approvalId: string;
  readonly sessionId: string;
  readonly nodeId: string;
  readonly requestId: number;
  /** sha256 hex of the exact request (`request_digest`). */
  readonly requestDigest: string;
  /** The normalised request fingerprint a reuse grant is bound to (`request_hash`). */
  readonly fingerprint: string;
  readonly outcome: string;
  readonly reason: string;
  readonly reviewer: SignedIdentity | undefined;
  readonly approvers: readonly SignedIdentity[];
  readonly approverGroups: readonly string[];
  readonly reuseSeconds: number;
  readonly requesterSub: string;
  readonly connection: string;
  readonly decidedMicros: bigint;
  readonly expiresMicros: bigint;
};

/** sha256 hex of the exact request text (UTF-8), as `request_digest` carries it. */
export function requestDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function signedIdentity(p: ProtoIdentity | undefined): SignedIdentity | undefined {
  if (!p || p.sub === '') return undefined;
  return {
    sub: p.sub,
    email: p.email,
    groups: [...p.groups],
    agent: p.agent,
    issuer: p.issuer,
    clientId: p.clientId,
  };
}

/** The claims an `approval.decided` event makes, or undefined when it is not one. Pure. */
export function claimsFromEvent(event: Event): DecisionClaims | undefined {
  if (event.body.case !== 'approvalDecided') return undefined;
  const d = event.body.value;
  return {
    keyId: d.keyId,
    approvalId: d.approvalId,
    sessionId: d.sessionId,
    nodeId: d.nodeId,
    requestId: d.requestId,
    requestDigest: d.requestDigest,
    fingerprint: d.requestHash,
    outcome: d.outcome,
    reason: d.reason,
    reviewer: signedIdentity(d.reviewer),
    approvers: d.approvers.map(signedIdentity).filter((i): i is SignedIdentity => i !== undefined),
    approverGroups: [...d.approverGroups],
    reuseSeconds: d.reuseSeconds,
    requesterSub: event.identity?.sub ?? '',
    connection: event.connection?.name ?? '',
    decidedMicros: d.decidedMicros,
    expiresMicros: d.expiresMicros,
  };
}

const identityTuple = (i: SignedIdentity | undefined) =>
  i === undefined ? null : [i.sub, i.email, [...i.groups], i.agent, i.issuer, i.clientId];

/**
 * The canonical bytes a decision signature covers: the context line, a newline, then one JSON array with every
 * claim in a fixed order (strings as JSON strings, micros as decimal strings, identities as
 * `[sub, email, [groups…], agent, issuer, client_id]` or null, lists in event order). Equal claims always give equal
 * bytes; any change to any claim changes them. Pure.
 */
export function canonicalDecision(c: DecisionClaims): Uint8Array {
  const fields = [
    c.keyId,
    c.approvalId,
    c.sessionId,
    c.nodeId,
    c.requestId,
    c.requestDigest,
    c.fingerprint,
    c.outcome,
    c.reason,
    identityTuple(c.reviewer),
    c.approvers.map(identityTuple),
    [...c.approverGroups],
    c.reuseSeconds,
    c.requesterSub,
    c.connection,
    c.decidedMicros.toString(),
    c.expiresMicros.toString(),
  ];
  return Buffer.from(`${DECISION_SIGNATURE_CONTEXT}\n${JSON.stringify(fields)}`, 'utf8');
}
