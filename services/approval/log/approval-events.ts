import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  ApprovalDecidedSchema,
  ApprovalReviewedSchema,
  ConnectionSchema,
  EventSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/identity.js';
import { claimsFromEvent } from '../../shared/signing/decision-claims.js';
import { signDecision } from '../../shared/signing/decision-signature.js';
import type { SigningKey } from '../../shared/signing/signing-keys.js';
import type { DecisionDraft } from '../model/decision.js';
import { toProtoIdentity } from '../../shared/events/proto-identity.js';
import type { ApprovalRecord, Verdict } from '../model/types.js';
import { approvalStreamId } from '../model/types.js';

export const microsNow = (): bigint =>
  BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));

/**
 * The envelope of an event about `record` on the approvals topic: session id `approval:<id>`, the next per-approval
 * sequence number as this instance has folded it (instances racing may reuse a number; the Kafka offset orders
 * them and consumers de-duplicate on the event id), and the requester's identity and connection.
 */
function envelope(
  record: ApprovalRecord,
  instanceId: string,
  body: Event['body'],
  eventId: string = randomUUID(),
): Event {
  const r = record.request;
  return create(EventSchema, {
    eventId,
    sessionId: approvalStreamId(r.id),
    seq: BigInt(record.events + 1),
    nodeId: instanceId,
    tsMicros: microsNow(),
    identity: toProtoIdentity(r.requester),
    connection: create(ConnectionSchema, {
      name: r.connection.name,
      protocol: r.connection.protocol,
      tags: { ...r.connection.tags },
    }),
    protocol: r.protocol,
    policyRevision: r.policyRevision,
    body,
  });
}

export function reviewedEvent(
  record: ApprovalRecord,
  instanceId: string,
  review: { eventId: string; reviewer: Identity; verdict: Verdict; reason: string; channel: string },
): Event {
  return envelope(
    record,
    instanceId,
    {
      case: 'approvalReviewed',
      value: create(ApprovalReviewedSchema, {
        approvalId: record.request.id,
        verdict: review.verdict,
        reviewer: toProtoIdentity(review.reviewer),
        reason: review.reason,
        instanceId,
        channel: review.channel,
      }),
    },
    review.eventId,
  );
}

/** The `approval.decided` event for `draft`, signed with `key` over its canonical claims. */
export function decidedEvent(
  record: ApprovalRecord,
  instanceId: string,
  draft: DecisionDraft,
  key: SigningKey,
  eventId?: string,
): Event {
  const r = record.request;
  const event = envelope(
    record,
    instanceId,
    {
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId: r.id,
        outcome: draft.outcome,
        ...(draft.reviewer ? { reviewer: toProtoIdentity(draft.reviewer) } : {}),
        reason: draft.reason,
        requestId: r.requestId,
        approvers: draft.approvers.map(toProtoIdentity),
        approverGroups: [...draft.approverGroups],
        requestHash: r.fingerprint,
        reuseSeconds: r.reuseSeconds,
        sessionId: r.sessionId,
        nodeId: r.nodeId,
        expiresMicros: r.expiresMicros,
        requestDigest: r.digest,
      }),
    },
    eventId,
  );
  if (event.body.case === 'approvalDecided') {
    // When the outcome was settled: the deciding review's time (before the expiry, or it would not have counted),
    // even when the decision is published later (e.g. by another instance after the grace).
    const settled = record.settled;
    event.body.value.decidedMicros =
      settled && settled.outcome === draft.outcome ? settled.atMicros : event.tsMicros;
    const claims = claimsFromEvent(event);
    if (claims) {
      const { keyId, signature } = signDecision(claims, key);
      event.body.value.keyId = keyId;
      event.body.value.signature = signature;
    }
  }
  return event;
}
