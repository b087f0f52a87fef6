import type {
  ApprovalDecided,
  ApprovalRequested,
  Event,
  Identity as ProtoIdentity,
  SecurityEvent,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/identity.js';
import type { EventLog } from '../../shared/log/event-log.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { TrustedKeys } from '../../shared/signing/signing-keys.js';

export type ApprovalWaiterOptions = {
  /** The event log the approvals topic is read from. */
  eventLog: EventLog;
  /** The node's publisher (acks=all for `publishDurable`). */
  publisher: EventPublisher;
  log: Logger;
  /** The approvals log the waiter reads decisions from (`kafka.topics.approvals`). */
  topic: string;
  /**
   * Where requests and notices are published (`kafka.topics.approvalRequests`); the approval service relays them
   * into `topic`, which gateways may read but not write. Default: `topic` (a cluster without ACLs).
   */
  requestTopic?: string;
  nodeId: string;
  /** Public base URL of the approval service; approve links are `<approvalUrl>/approvals/<id>`. */
  approvalUrl: string;
  /** The approval service's public keys by key id: only decisions signed by one of them are considered. */
  trustedKeys: TrustedKeys;
  /** Requests waiting on this node at once (default 1000); more resolve `unavailable` at once. */
  maxPending?: number;
  /** Reusable grants remembered (default 10 000). */
  maxGrants?: number;
  /** Decided approval ids remembered for first-decision-wins (default 100 000). */
  maxDecidedIds?: number;
  /** Refused decisions recorded (log line + security event) per held request (default 100); more are only counted. */
  maxRefusalsPerRequest?: number;
  /** Waiting requests resolve `unavailable` once the approvals topic could not be read this long (default 15 s). */
  logTimeoutMs?: number;
  /** Longest request text published (UTF-16 units, default 256 Ki); longer text is cut and marked. */
  maxRequestTextLength?: number;
  /** How long `start` waits to join the topic (default 30 s). */
  startTimeoutMs?: number;
  /**
   * The hold lease: every `holdRenewMs` (default 5 s) the node publishes a `holding` notice per held request, saying
   * it holds it for `holdLeaseMs` more (default 20 s). When the node dies the lease lapses and the approval service
   * ends the approval `abandoned` (a late review answers 409): only the node that holds a request can resume it.
   */
  holdRenewMs?: number;
  holdLeaseMs?: number;
  /** Called for the first decision of an approval this node requested but no longer waits for (client gone). */
  onOrphanDecision?: (decision: OrphanDecision) => void;
  /** Called for every refused decision about a request of this node (metrics); must not throw. */
  onRefusedDecision?: (refused: SecurityEvent) => void;
  now?: () => number;
};

export type ApprovalOutcome = {
  readonly outcome: 'approved' | 'rejected' | 'expired' | 'unavailable';
  /** Who decided (the last approver, or the rejecter). */
  readonly reviewer?: Identity;
  readonly approvers: readonly Identity[];
  readonly reason: string;
  /** The `approval.decided` body from the log (absent for a local expiry or `unavailable`). */
  readonly decided?: ApprovalDecided;
};

export type PendingApproval = {
  readonly approvalId: string;
  readonly approveUrl: string;
  readonly expiresAt: Date;
  /** The `approval.requested` body as published (record it on the session stream too). */
  readonly requested: ApprovalRequested;
  /** true once the request is durable in the requests topic; false when publishing failed (outcome: unavailable). */
  readonly published: Promise<boolean>;
  /** Never rejects. */
  readonly outcome: Promise<ApprovalOutcome>;
};

export type OrphanDecision = {
  readonly approvalId: string;
  readonly decided: ApprovalDecided;
  readonly event: Event;
};

/** A reviewer from an event, or undefined for an empty identity. */
export function identityOf(p: ProtoIdentity | undefined): Identity | undefined {
  if (!p || p.sub === '') return undefined;
  return {
    sub: p.sub,
    email: p.email,
    groups: [...p.groups],
    agent: p.agent,
    issuer: p.issuer,
    client_id: p.clientId,
  };
}
