import { create } from '@bufbuild/protobuf';
import { ApprovalHistoryEntrySchema, ApprovalSchema } from '../../../proto/gen/gatehouse/v1/approvals_pb.js';
import type { Approval } from '../../../proto/gen/gatehouse/v1/approvals_pb.js';
import { ConnectionSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { toProtoIdentity } from '../../shared/events/proto-identity.js';
import type { ApprovalRecord } from '../model/types.js';
import { stateOf } from '../model/types.js';
import { approveUrlOf } from '../model/view.js';

/** An approval record as the gRPC `Approval` message. */
export function toProtoApproval(record: ApprovalRecord, publicUrl: string): Approval {
  const r = record.request;
  const d = record.decision;
  return create(ApprovalSchema, {
    id: r.id,
    state: stateOf(record),
    requester: toProtoIdentity(r.requester),
    connection: create(ConnectionSchema, {
      name: r.connection.name,
      protocol: r.connection.protocol,
      tags: { ...r.connection.tags },
    }),
    protocol: r.protocol,
    sessionId: r.sessionId,
    nodeId: r.nodeId,
    requestId: r.requestId,
    requestText: r.text,
    requestFingerprint: r.fingerprint,
    reasons: [...r.reasons],
    groups: [...r.groups],
    approvalsNeeded: r.approvalsNeeded,
    ttlSeconds: r.ttlSeconds,
    reuseSeconds: r.reuseSeconds,
    requestedMicros: r.requestedMicros,
    expiresMicros: r.expiresMicros,
    approveUrl: approveUrlOf(record, publicUrl),
    approvers: record.approvals.map((a) => toProtoIdentity(a.reviewer)),
    outcome: d?.outcome ?? '',
    outcomeReason: d?.reason ?? '',
    ...(d?.reviewer ? { decidedBy: toProtoIdentity(d.reviewer) } : {}),
    decidedMicros: d?.atMicros ?? 0n,
    history: record.history.map((h) =>
      create(ApprovalHistoryEntrySchema, {
        atMicros: h.atMicros,
        kind: h.kind,
        ...(h.actor ? { actor: toProtoIdentity(h.actor) } : {}),
        verdict: h.verdict,
        outcome: h.outcome,
        reason: h.reason,
        ignored: h.ignored,
        eventId: h.eventId,
      }),
    ),
  });
}
