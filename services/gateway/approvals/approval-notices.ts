import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  ApprovalDecidedSchema,
  EventSchema,
  SecurityEventSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type {
  ApprovalDecided,
  ApprovalRequested,
  Event,
  SecurityEvent,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { toProtoIdentity } from '../../shared/events/proto-identity.js';
import type { IdentityFields } from '../../shared/events/proto-identity.js';
import type { DecisionRefusal } from '../../shared/signing/decision-signature.js';

/**
 * The unsigned notices a gateway publishes about a request it holds (proto `ApprovalDecided`): it stopped holding it
 * (`abandoned`, `waited`), or it still holds it until `expires_micros` (`holding`, the hold lease).
 */
export type NoticeKind = 'abandoned' | 'waited' | 'holding';

/**
 * A gateway's notice on the approvals topic: `abandoned` (the waiting session ended, or the node shuts down),
 * `waited` (the node still waited at the expiry) or `holding` (the node renews its hold lease: `expires_micros` is
 * `at.holdUntilMicros`, when the lease lapses unless renewed). Unsigned: it can end an approval, never resume a
 * request. The envelope continues the approval's stream (`approval:<id>`, the next sequence number this node has
 * seen). Pure apart from the event id.
 */
export function noticeEvent(
  requested: ApprovalRequested,
  kind: NoticeKind,
  reason: string,
  at: { seq: bigint; nowMicros: bigint; policyRevision: string; holdUntilMicros?: bigint },
): Event {
  return create(EventSchema, {
    eventId: randomUUID(),
    sessionId: `approval:${requested.approvalId}`,
    seq: at.seq,
    nodeId: requested.nodeId,
    tsMicros: at.nowMicros,
    ...(requested.requester ? { identity: requested.requester } : {}),
    ...(requested.connection ? { connection: requested.connection } : {}),
    protocol: requested.protocol,
    policyRevision: at.policyRevision,
    body: {
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId: requested.approvalId,
        outcome: kind,
        reason,
        requestId: requested.requestId,
        sessionId: requested.sessionId,
        nodeId: requested.nodeId,
        expiresMicros: kind === 'holding' ? (at.holdUntilMicros ?? 0n) : requested.expiresMicros,
        requestDigest: requested.requestDigest,
      }),
    },
  });
}

/** A refused `approval.decided` (or an unexpected notice), as the security event recorded on the session stream. */
export function refusedDecisionEvent(
  refused: Event,
  refusal: { code: DecisionRefusal['code'] | 'unexpected_notice'; reason: string },
  where: { topic: string; partition: number; offset: string; requestId: number },
): SecurityEvent {
  const d = refused.body.case === 'approvalDecided' ? refused.body.value : undefined;
  return create(SecurityEventSchema, {
    kind: 'approval_decision_refused',
    code: refusal.code,
    reason: refusal.reason,
    approvalId: (d?.approvalId ?? '').slice(0, 200),
    requestId: where.requestId,
    keyId: (d?.keyId ?? '').slice(0, 64),
    eventId: refused.eventId.slice(0, 200),
    claimedNodeId: refused.nodeId.slice(0, 200),
    source: `${where.topic}/${where.partition}@${where.offset}`,
    claimedOutcome: (d?.outcome ?? '').slice(0, 40),
  });
}

/**
 * The `approval.decided` body a gateway records on the session stream once a held request's wait ends: the verified
 * decision exactly as signed (so the SOC can check the signature offline), or, for a local expiry or an unavailable
 * approval log, the local outcome (unsigned). Pure.
 */
export function sessionDecidedBody(
  approvalId: string,
  requestId: number,
  o: { outcome: string; reason: string; reviewer?: IdentityFields; decided?: ApprovalDecided },
): ApprovalDecided {
  if (o.decided) return create(ApprovalDecidedSchema, { ...o.decided, requestId });
  return create(ApprovalDecidedSchema, {
    approvalId,
    outcome: o.outcome,
    reason: o.reason,
    requestId,
    ...(o.reviewer ? { reviewer: toProtoIdentity(o.reviewer) } : {}),
  });
}
