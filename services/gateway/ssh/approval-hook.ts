import type { Identity } from '../../shared/identity/index.js';
import type { Decision, SshRequest } from '../policy/index.js';
import type { SessionAudit } from '../session-audit.js';

/** What the gateway tells the approval waiter about a request that policy wants approved. */
export type SshApprovalRequest = {
  readonly audit: SessionAudit;
  readonly requestId: number;
  /** Request kind as in the audit log (`ssh.exec`, `ssh.shell`, …) and its text (the command line). */
  readonly kind: string;
  readonly text: string;
  /** `input.request` as the policy saw it (its `fingerprint` is what a grant binds to). */
  readonly request: SshRequest;
  readonly decision: Decision;
  readonly revision: string;
  readonly identity: Identity;
  readonly connection: { readonly name: string; readonly tags: Readonly<Record<string, string>> };
  /**
   * Call once the approval request exists: the client sees `gatehouse: waiting for approval <id> at <url>` on
   * stderr (and the line is recorded like any output).
   */
  readonly onPending: (pending: { approvalId: string; url: string }) => void;
  /** Aborted when the client goes away or the gateway shuts down: stop waiting and resolve (not approved). */
  readonly signal: AbortSignal;
};

export type SshApprovalOutcome = {
  readonly approved: boolean;
  /** Why (shown to the client when not approved): rejected by whom, expired, … */
  readonly reasons: readonly string[];
  /** The grant that approved the request, if any (recorded). */
  readonly grantId?: string;
};

/**
 * The approval hook: publishes the approval events, waits for the reviewers (bounded by the decision's
 * `ttl_seconds`) and resolves with the outcome. Without one, requests that need approval are refused with the
 * policy's reasons and the approver groups.
 */
export type SshApprovalHook = (req: SshApprovalRequest) => Promise<SshApprovalOutcome>;
