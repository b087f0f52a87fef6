import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { toProtoIdentity } from '../../shared/events/proto-identity.js';
import {
  ApprovalRequestedSchema,
  ConnectionSchema,
  EventSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { ApprovalRequested, Event, SecurityEvent } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/identity.js';
import { requestDigest } from '../../shared/signing/decision-claims.js';

export type ApprovalRequestOptions = {
  /** The requester's gateway session. */
  sessionId: string;
  /** Default: the waiter's node id. */
  nodeId?: string;
  requester: Identity;
  connection: { name: string; tags?: Readonly<Record<string, string>> };
  protocol: string;
  /** The exact request text. */
  requestText: string;
  /** `input.request.fingerprint`: what a reuse grant is bound to. */
  fingerprint: string;
  /** The policy's reasons. */
  reasons: readonly string[];
  groups: readonly string[];
  approvalsNeeded: number;
  ttlSeconds: number;
  reuseSeconds: number;
  /** The request's number in its session (events refer to it). */
  requestId?: number;
  policyRevision?: string;
  /**
   * Records a refused decision for this request (forged, tampered, replayed, wrong reviewer) on the session stream.
   * Must not throw; the request keeps waiting either way.
   */
  onRefused?: (event: SecurityEvent) => void;
};

const TRUNCATED = (n: number) =>
  `\n… [${n} more characters not shown; the fingerprint covers the full request]`;

/**
 * The `approval.requested` body and its envelope on the approvals topic: session id `approval:<id>`, seq 1, the
 * requester's identity and connection. Request text longer than `maxTextLength` is cut and marked. Pure apart from
 * the event id.
 */
export function buildApprovalRequest(
  opts: ApprovalRequestOptions,
  at: {
    approvalId: string;
    approveUrl: string;
    nodeId: string;
    nowMicros: bigint;
    ttlMs: number;
    /** The first hold lease (`held_until_micros` = now + this; 0: none, as older nodes sent). */
    holdLeaseMs: number;
    maxTextLength: number;
  },
): { requested: ApprovalRequested; event: Event } {
  const text =
    opts.requestText.length > at.maxTextLength
      ? opts.requestText.slice(0, at.maxTextLength) + TRUNCATED(opts.requestText.length - at.maxTextLength)
      : opts.requestText;
  const connection = create(ConnectionSchema, {
    name: opts.connection.name,
    protocol: opts.protocol,
    tags: { ...(opts.connection.tags ?? {}) },
  });
  const requester = toProtoIdentity(opts.requester);
  const requested = create(ApprovalRequestedSchema, {
    approvalId: at.approvalId,
    requestId: opts.requestId ?? 0,
    requestText: text,
    requestHash: opts.fingerprint,
    reasons: [...opts.reasons],
    groups: [...opts.groups],
    approvalsNeeded: Math.max(1, opts.approvalsNeeded),
    expiresMicros: at.nowMicros + BigInt(at.ttlMs) * 1000n,
    reuseSeconds: Math.max(0, opts.reuseSeconds),
    approveUrl: at.approveUrl,
    sessionId: opts.sessionId,
    nodeId: at.nodeId,
    requester,
    connection,
    protocol: opts.protocol,
    ttlSeconds: Math.max(1, Math.ceil(at.ttlMs / 1000)),
    requestDigest: requestDigest(opts.requestText),
    heldUntilMicros: at.holdLeaseMs > 0 ? at.nowMicros + BigInt(at.holdLeaseMs) * 1000n : 0n,
  });
  const event = create(EventSchema, {
    eventId: randomUUID(),
    sessionId: `approval:${at.approvalId}`,
    seq: 1n,
    nodeId: at.nodeId,
    tsMicros: at.nowMicros,
    identity: requester,
    connection,
    protocol: opts.protocol,
    policyRevision: opts.policyRevision ?? '',
    body: { case: 'approvalRequested', value: requested },
  });
  return { requested, event };
}
