/**
 * The public contract of the request pipeline: one protocol-neutral path for every request of every protocol
 * (PostgreSQL, SSH, MCP, HTTP):
 *
 *   describe (the protocol) → policy input → evaluate → `request`/`decision` events (durable or batched)
 *   → approval hold → verdict → wire (the protocol: SQLSTATE, exit status, JSON-RPC error, HTTP status)
 *
 * A protocol builds a `RequestDescription`, calls `decide`, and maps the `Verdict` onto its wire. Everything in
 * between (grants, the fail-closed log line, metrics, event publishing, the approval wait and its events) happens
 * here, identically for every protocol. This file is stable: changes are additive only.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DecisionSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/index.js';
import type { Logger } from '../../shared/logger.js';
import type { ApprovalRequestOptions } from '../approvals/requested-event.js';
import type { PendingApproval } from '../approvals/waiter-types.js';
import type {
  ConnectionProtocol,
  Decision,
  PolicyGrant,
  PolicyRequest,
  PolicyResult,
} from '../policy/types.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { SessionAudit } from '../session-audit.js';

// ---- what a protocol hands in ----------------------------------------------------------------------------

/**
 * What the protocol can prove about the request's effect, which bounds how its events may be published:
 * - `durable`: the request may change state. When it goes forward (allowed, or held for approval), its `decision`
 *   event is acknowledged by Kafka (acks=all) before `decide` resolves; a refused publish refuses the request.
 * - `batched`: the protocol proved the request read-only. When the policy also says `audit: "batched"`, both
 *   events go through the bounded batch buffer and `decide` returns synchronously (no await on the hot path);
 *   otherwise the request is published as `durable`.
 * Refused requests (nothing goes forward) are always published batched.
 */
export type Durability = 'durable' | 'batched';

/** One request as a protocol describes it to the pipeline. */
export type RequestDescription = {
  /** `input.connection.protocol` and the protocol of the approval request. */
  readonly protocol: ConnectionProtocol;
  /** The request's number in its session: every event about it (`request`, `decision`, approval, responses) names it. */
  readonly requestId: number;
  /** `Request.kind` in the audit log: `sql`, `sql.parse`, `ssh.exec`, `ssh.shell`, `mcp.tools/call`, `http.DELETE`, … */
  readonly kind: string;
  /** `Request.text` in the audit log: the request as the client sent it (SQL text, command line, JSON-RPC body, …). */
  readonly text: string;
  /**
   * `input.request`: the protocol-specific part of the policy input, as the policy sees it. Its `fingerprint` is
   * what a reuse grant is bound to (`input.grants` are looked up by subject, connection and this fingerprint).
   */
  readonly request: PolicyRequest;
  readonly durability: Durability;
  /**
   * What a reviewer is shown for this request and what the approval is bound to (the signed decision carries a
   * digest of exactly this text, checked before the request resumes). Must contain everything that makes the
   * request what it is: for SQL the text plus the statements behind prepared names, for MCP the tool and its exact
   * arguments, for SSH the command line.
   */
  readonly reviewText: string;
  /**
   * Reasons the protocol refuses this request whatever the policy says (e.g. SQL that changes a setting the
   * gateway parses by). Non-empty: the policy is still evaluated (and counted), but the decision becomes a deny
   * with exactly these reasons and no approval.
   */
  readonly protocolDenials?: readonly string[];
  /**
   * Protocol-specific fields set on this request's `decision` event (its own reserved proto fields, e.g. an MCP
   * arguments digest). The pipeline's own fields win over these.
   */
  readonly decisionFields?: DecisionEventFields;
};

/** Fields of the `decision` event body (proto `Decision`) a protocol may add. */
export type DecisionEventFields = Partial<Omit<MessageInitShape<typeof DecisionSchema>, '$typeName'>>;

/** How a held request reaches the client while it waits for approval. */
export type HoldHooks = {
  /**
   * Called once the approval request is published: tell the client why it waits and where to approve (the
   * protocol formats the text for its wire: a NoticeResponse, a stderr line, a progress notification, …).
   */
  readonly onHeld: (held: HeldRequest) => void;
  /** Aborted when the client goes away or the gateway shuts down: the wait ends `abandoned`. */
  readonly signal: AbortSignal;
};

/** What a client is told about a held request. */
export type HeldRequest = {
  readonly approvalId: string;
  /** Where a reviewer approves it. */
  readonly approveUrl: string;
  /** When the approval request expires (the request is then denied). */
  readonly expiresAt: Date;
  /** The policy's reasons for wanting approval. */
  readonly reasons: readonly string[];
  /** An approver must belong to one of these groups. */
  readonly groups: readonly string[];
  readonly approvalsNeeded: number;
};

// ---- what the pipeline hands back ------------------------------------------------------------------------

/**
 * The final verdict on one request. Every variant carries `reasons` (never empty: shown to the client on
 * refusal, already recorded) and the policy bundle `revision` that decided it.
 *
 * Wire mapping, by protocol (keep these in step):
 *
 * | kind        | PostgreSQL | SSH exit | MCP (JSON-RPC)        | HTTP |
 * |-------------|------------|----------|-----------------------|------|
 * | `allow`     | forward    | run      | forward               | forward |
 * | `approved`  | forward    | run      | forward               | forward |
 * | `deny`      | 42501      | 126      | error, reasons        | 403  |
 * | `abandoned` | 57P03      | 126      | error, reasons        | 503  |
 * | `error`     | 57P03      | 255      | internal error        | 503  |
 */
export type Verdict = AllowVerdict | ApprovedVerdict | DenyVerdict | AbandonedVerdict | ErrorVerdict;

/** The policy allowed the request outright (or through a reusable grant it names). */
export type AllowVerdict = {
  readonly kind: 'allow';
  readonly reasons: readonly string[];
  readonly revision: string;
  /** The decision, for masking (`mask.columns`, `mask.fields`, `mask.detectors`). */
  readonly decision: Decision;
  /** true: both events went through the batch buffer (the request may be forwarded before Kafka's ack). */
  readonly batched: boolean;
  /**
   * The grant (approval id) this allow relied on, as recorded on the `decision` event's `grant_approval_id`; ''
   * when it relied on none. Only a grant the decision names in `grants_used` that was also in `input.grants`.
   */
  readonly grant: string;
};

/** Held for approval, then approved by the reviewers. */
export type ApprovedVerdict = {
  readonly kind: 'approved';
  /** `approved by <approvers>`. */
  readonly reasons: readonly string[];
  readonly revision: string;
  readonly decision: Decision;
  readonly approvalId: string;
};

/**
 * Refused: by the policy (`stage: 'policy'`, also when approval is required but the node has no approval service),
 * or by the reviewers (`stage: 'approval'`: rejected, or expired without a decision).
 */
export type DenyVerdict = {
  readonly kind: 'deny';
  readonly stage: 'policy' | 'approval';
  readonly reasons: readonly string[];
  readonly revision: string;
  /** Set when `stage` is `approval`. */
  readonly approvalId?: string;
};

/**
 * Held for approval, but the wait ended without a decision: the client went away, the node is shutting down, or
 * the approval service or its log could not be reached.
 */
export type AbandonedVerdict = {
  readonly kind: 'abandoned';
  readonly reasons: readonly string[];
  readonly revision: string;
  readonly approvalId: string;
};

/**
 * The gateway could not do its part: the audit log refused or could not acknowledge an event (fail closed), so
 * the request is not forwarded. `reasons` is `audit log unavailable: request not forwarded`.
 */
export type ErrorVerdict = {
  readonly kind: 'error';
  readonly cause: 'audit_unavailable';
  readonly reasons: readonly string[];
  readonly revision: string;
};

/**
 * The first half of `decide`: a final verdict, or `held` (the policy wants approval and the events are durable)
 * with the wait still to do. PostgreSQL uses it to start the wait only once earlier responses reached the client.
 */
export type Ruling = Verdict | HeldVerdict;

export type HeldVerdict = {
  readonly kind: 'held';
  /** The policy's reasons for wanting approval. */
  readonly reasons: readonly string[];
  readonly revision: string;
  readonly decision: Decision;
  /**
   * Publishes the approval request, calls `hooks.onHeld`, waits for the first decision (bounded by the decision's
   * `approval.ttl_seconds`), records `approval.decided` durably on the session stream, and resolves with the final
   * verdict. Never rejects. Call at most once.
   */
  readonly wait: (hooks: HoldHooks) => Promise<Verdict>;
};

// ---- the pipeline ---------------------------------------------------------------------------------------

/**
 * What the pipeline needs of the node's approval service (`ApprovalWaiter` implements it). Absent: requests the
 * policy wants approved are denied with the policy's reasons plus `approval required from <groups>`.
 */
export type ApprovalService = {
  /** Publishes `approval.requested` and returns at once; `outcome` never rejects. */
  request(opts: ApprovalRequestOptions): PendingApproval;
  /** Stops waiting for `approvalId` (its outcome resolves `unavailable`). */
  cancel(approvalId: string): void;
  /** `input.grants`: unexpired reusable grants for this subject, connection and fingerprint. */
  grantsFor(sub: string, connection: string, fingerprint: string): PolicyGrant[];
};

/** One session's side of the pipeline: who is asking, where, and the node's parts. */
export type PipelineSession = {
  /** Current policy (read on every request, so a reloaded bundle takes effect at once). */
  readonly policy: () => PolicyEngine;
  readonly audit: SessionAudit;
  readonly identity: Identity;
  readonly connection: { readonly name: string; readonly tags: Readonly<Record<string, string>> };
  /** Client IP address without port. */
  readonly clientAddr: string;
  /** Unix seconds. */
  readonly startedAt: number;
  /** The session's logger. */
  readonly log: Logger;
  /** Called with every evaluation (metrics), after protocol denials are applied. */
  readonly onDecision: (result: PolicyResult) => void;
  readonly approvals?: ApprovalService | undefined;
};

/**
 * Decides one request and hands back the final verdict. Synchronous when nothing needs to wait (a refusal, or a
 * read-only request audited batched); otherwise it resolves once the events are durable and, for a held request,
 * once the approval wait ended. Never rejects: failures become `error` verdicts.
 */
export type Decide = (request: RequestDescription, hooks: HoldHooks) => Verdict | Promise<Verdict>;

/** The pipeline of one session (`createRequestPipeline(session)` in `./request-pipeline.ts`). */
export type RequestPipeline = {
  readonly decide: Decide;
  /** `decide` without the approval wait: a `held` ruling is returned for the caller to `wait` on later. */
  readonly rule: (request: RequestDescription) => Ruling | Promise<Ruling>;
  /**
   * Evaluates the policy only: no events, no metrics, no grants offered (e.g. to filter a listing: may this item
   * be shown?). Never throws; a failure is the fail-closed result.
   */
  readonly evaluate: (request: Pick<RequestDescription, 'protocol' | 'request'>) => PolicyResult;
  /**
   * Records only the `request` event (batched) of a message the protocol answers itself without a decision (e.g. an
   * unknown method). Throws the audit log's refusal (the protocol then refuses the message).
   */
  readonly recordRequest: (
    request: Pick<RequestDescription, 'requestId' | 'kind' | 'text' | 'request'>,
  ) => void;
};

export type CreateRequestPipeline = (session: PipelineSession) => RequestPipeline;
