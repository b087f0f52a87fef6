import type { Identity } from '../../shared/identity/identity.js';

/**
 * What an approval can be. `pending` until the first valid `approval.decided` in log order. `abandoned`: the
 * requester's session ended (the gateway said so), or nobody was waiting any more at the expiry (its node died).
 */
export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired' | 'abandoned';
export type FinalOutcome = Exclude<ApprovalState, 'pending'>;
export type Verdict = 'approve' | 'reject';

export const APPROVAL_STATES: readonly ApprovalState[] = [
  'pending',
  'approved',
  'rejected',
  'expired',
  'abandoned',
];
export const FINAL_OUTCOMES: readonly FinalOutcome[] = ['approved', 'rejected', 'expired', 'abandoned'];

/** The request as the gateway published it (`approval.requested`). */
export type ApprovalRequest = {
  readonly id: string;
  readonly sessionId: string;
  readonly nodeId: string;
  readonly requestId: number;
  readonly requester: Identity;
  readonly connection: {
    readonly name: string;
    readonly protocol: string;
    readonly tags: Readonly<Record<string, string>>;
  };
  readonly protocol: string;
  readonly policyRevision: string;
  /** The exact request text (attacker-controlled: escape wherever it is shown). */
  readonly text: string;
  readonly fingerprint: string;
  /** sha256 hex of the exact request, as the gateway computed it (signed into the decision). */
  readonly digest: string;
  readonly reasons: readonly string[];
  readonly groups: readonly string[];
  readonly approvalsNeeded: number;
  readonly ttlSeconds: number;
  readonly reuseSeconds: number;
  readonly requestedMicros: bigint;
  readonly expiresMicros: bigint;
  readonly approveUrl: string;
};

/** One counted reviewer action. */
export type Review = {
  readonly reviewer: Identity;
  readonly verdict: Verdict;
  readonly reason: string;
  readonly atMicros: bigint;
  readonly eventId: string;
};

/** The final outcome: the first `approval.decided` of the approval in log order. */
export type ApprovalDecision = {
  readonly outcome: FinalOutcome;
  readonly reviewer: Identity | undefined;
  readonly reason: string;
  readonly approvers: readonly Identity[];
  readonly approverGroups: readonly string[];
  readonly atMicros: bigint;
  readonly eventId: string;
  /** Approval-service instance (or node) that published it. */
  readonly by: string;
};

export type HistoryEntry = {
  readonly atMicros: bigint;
  readonly kind: 'requested' | 'reviewed' | 'decided';
  readonly actor: Identity | undefined;
  readonly verdict: Verdict | '';
  readonly outcome: FinalOutcome | '';
  readonly reason: string;
  /** Non-empty when the event did not count, and why. */
  readonly ignored: string;
  readonly eventId: string;
};

/**
 * The folded state of one approval. Immutable: the fold returns a new record for every change.
 * `settled` is the outcome the reviews have already determined (a valid rejection, or the Nth distinct approval)
 * while the `approval.decided` event that makes it final is not folded yet.
 */
export type ApprovalRecord = {
  readonly request: ApprovalRequest;
  readonly approvals: readonly Review[];
  readonly rejection: Review | undefined;
  readonly settled:
    | { readonly outcome: 'approved' | 'rejected'; readonly atMicros: bigint; readonly eventId: string }
    | undefined;
  readonly decision: ApprovalDecision | undefined;
  readonly history: readonly HistoryEntry[];
  /** History entries dropped because of the bound (the oldest after the request). */
  readonly historyDropped: number;
  /** Events folded for this approval (the next event's `seq` is this + 1). */
  readonly events: number;
  /** The holding gateway said it was still waiting at the expiry (`waited` notice): the approval ends `expired`. */
  readonly waited: boolean;
  /**
   * The hold lease: until when the holding gateway said it holds the request (its latest `holding` notice). Once it
   * lapses the node is taken as gone: reviews no longer count and the approval ends `abandoned`. Undefined until the
   * first `holding` notice (a gateway without leases: `abandoned` only after the expiry).
   */
  readonly heldUntilMicros: bigint | undefined;
};

export function stateOf(record: ApprovalRecord): ApprovalState {
  return record.decision?.outcome ?? 'pending';
}

/** The envelope `session_id` of every event of an approval on the approvals topic. */
export function approvalStreamId(approvalId: string): string {
  return `approval:${approvalId}`;
}
