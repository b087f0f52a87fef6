import { create } from '@bufbuild/protobuf';
import { ApprovalRequestedSchema } from '../../proto/gen/gatehouse/v1/events_pb.js';
import type { ApprovalRequestOptions } from '../../services/gateway/approvals/requested-event.js';
import type { ApprovalOutcome, PendingApproval } from '../../services/gateway/approvals/waiter-types.js';
import type { ApprovalService } from '../../services/gateway/pipeline/index.js';
import type { PolicyGrant } from '../../services/gateway/policy/index.js';

/**
 * An in-memory approval service for unit tests: records every request, lookup and cancel; `grants` are offered
 * to every lookup; `decide` settles the pending request (a cancel settles it `unavailable`, as the real one does).
 */
export class MemoryApprovals implements ApprovalService {
  readonly requests: ApprovalRequestOptions[] = [];
  readonly lookups: [sub: string, connection: string, fingerprint: string][] = [];
  readonly cancelled: string[] = [];
  grants: PolicyGrant[] = [];
  #settle: ((o: ApprovalOutcome) => void) | undefined;

  request(opts: ApprovalRequestOptions): PendingApproval {
    this.requests.push(opts);
    const approvalId = `ap-${this.requests.length}`;
    const outcome = new Promise<ApprovalOutcome>((resolve) => {
      this.#settle = resolve;
    });
    return {
      approvalId,
      approveUrl: `http://approvals.test/approvals/${approvalId}`,
      expiresAt: new Date(Date.UTC(2026, 0, 1, 0, 15)),
      requested: create(ApprovalRequestedSchema, { approvalId, requestId: opts.requestId ?? 0 }),
      published: Promise.resolve(true),
      outcome,
    };
  }

  /** Settles the latest request with `outcome`. */
  decide(outcome: ApprovalOutcome): void {
    this.#settle?.(outcome);
  }

  cancel(approvalId: string): void {
    this.cancelled.push(approvalId);
    this.decide({ outcome: 'unavailable', approvers: [], reason: 'the client went away' });
  }

  grantsFor(sub: string, connection: string, fingerprint: string): PolicyGrant[] {
    this.lookups.push([sub, connection, fingerprint]);
    return this.grants;
  }
}
