import type { Identity } from '../../shared/identity/identity.js';
import { reviewerGroups } from './review-rules.js';
import type { ApprovalRecord, FinalOutcome } from './types.js';

/** The body of the `approval.decided` event that makes `outcome` final. */
export type DecisionDraft = {
  readonly outcome: FinalOutcome;
  readonly reviewer: Identity | undefined;
  readonly reason: string;
  readonly approvers: readonly Identity[];
  readonly approverGroups: readonly string[];
};

/** Builds the decision for `outcome` from what the reviews say (`reason` replaces the default one). Pure. */
export function draftDecision(record: ApprovalRecord, outcome: FinalOutcome, reason?: string): DecisionDraft {
  const draft = draftFor(record, outcome);
  return reason === undefined ? draft : { ...draft, reason };
}

function draftFor(record: ApprovalRecord, outcome: FinalOutcome): DecisionDraft {
  switch (outcome) {
    case 'approved': {
      const last = record.approvals.at(-1);
      const groups = new Set<string>();
      for (const a of record.approvals) for (const g of reviewerGroups(record, a.reviewer)) groups.add(g);
      return {
        outcome,
        reviewer: last?.reviewer,
        reason: last?.reason ?? '',
        approvers: record.approvals.map((a) => a.reviewer),
        approverGroups: [...groups].sort(),
      };
    }
    case 'rejected':
      return {
        outcome,
        reviewer: record.rejection?.reviewer,
        reason: record.rejection?.reason ?? '',
        approvers: [],
        approverGroups: [],
      };
    case 'expired':
      return {
        outcome,
        reviewer: undefined,
        reason: `no decision within ${record.request.ttlSeconds} s`,
        approvers: [],
        approverGroups: [],
      };
    case 'abandoned':
      return {
        outcome,
        reviewer: undefined,
        reason: `nobody was waiting for a decision any more at the expiry (gateway node ${record.request.nodeId} stopped)`,
        approvers: [],
        approverGroups: [],
      };
    default: {
      const never: never = outcome;
      throw new Error(`unexpected outcome ${String(never)}`);
    }
  }
}

/**
 * What an approval-service instance should publish now for `record`, if anything. Pure.
 * - decided already: nothing;
 * - settled by the reviews: the settled outcome, once `graceMicros` passed since the settling review (the instance
 *   that accepted that review publishes at once; this is the fallback when it died before doing so);
 * - otherwise at or after the expiry: `expired` once the holding gateway said it still waited then (`waited`
 *   notice); without that notice, `abandoned` once `graceMicros` passed after the expiry (the node died: nobody
 *   holds the request any more, so no reviewer should be asked to act on it);
 * - before the expiry: `abandoned` once the holding node's lease (`heldUntilMicros`, renewed by its `holding`
 *   notices) lapsed: the node is gone, and only the node that holds a request can resume it.
 * Several instances may act on the same approval at once: the first `approval.decided` in log order wins.
 */
export function dueDecision(
  record: ApprovalRecord,
  nowMicros: bigint,
  graceMicros: bigint,
): DecisionDraft | undefined {
  if (record.decision) return undefined;
  if (record.settled) {
    return nowMicros - record.settled.atMicros >= graceMicros
      ? draftDecision(record, record.settled.outcome)
      : undefined;
  }
  const expires = record.request.expiresMicros;
  if (record.waited && nowMicros >= expires) return draftDecision(record, 'expired');
  if (record.heldUntilMicros !== undefined && nowMicros >= record.heldUntilMicros) {
    const reason = `gateway node ${record.request.nodeId} stopped renewing its hold (node gone); nobody can resume the request`;
    return draftDecision(record, 'abandoned', reason);
  }
  if (nowMicros >= expires + graceMicros) return draftDecision(record, 'abandoned');
  return undefined;
}
