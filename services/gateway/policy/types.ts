import type { ErrorCode } from '../../shared/errors.js';
import type { SqlStatementAnalysis } from '../sql/sql-analysis.js';
/**
 * The policy contract: the `input` document the gateway builds for every request and the `decision` the policy
 * returns. Field names are snake_case because they are the JSON the Rego policy sees; policies/README.md
 * documents every field. Change this file and the README together.
 */

// ---- input ------------------------------------------------------------------------------------------------

/** `input.identity`: who is calling (from the verified OIDC token). Structurally the shared `Identity`. */
export type PolicyIdentity = {
  readonly sub: string;
  readonly email: string | null;
  readonly groups: readonly string[];
  /** true for AI agents and other machines; policies treat anything but an explicit `false` as an agent. */
  readonly agent: boolean;
  readonly issuer: string;
  readonly client_id: string | null;
};

export type ConnectionProtocol = 'postgres' | 'ssh' | 'http' | 'k8s' | 'grpc' | 'mcp';

/** `input.connection`: the configured target the client reached. */
export type PolicyConnection = {
  readonly name: string;
  readonly protocol: ConnectionProtocol;
  /** Free-form labels from the connection config, e.g. `{ env: 'prod', 'gatehouse.pii_columns': 'users.ssn' }`. */
  readonly tags: Readonly<Record<string, string>>;
};

/** `input.session`: the client session the request belongs to. */
export type PolicySession = {
  readonly id: string;
  /** Id of the gateway node that holds the session. */
  readonly node: string;
  /** Client IP address without port (IPv6 without brackets). */
  readonly client_addr: string;
  /** Unix seconds. */
  readonly started_at: number;
};

/**
 * One statement of a SQL request, as the PostgreSQL parser saw it: the SQL analyzer's own type
 * (services/gateway/sql/sql-analysis.ts), so that the input the gateway builds and this contract are one type.
 */
export type SqlStatement = SqlStatementAnalysis;

export type SqlRequest = {
  readonly kind: 'sql';
  /** Stable hash of the request (what an approval grant is bound to); see policies/README.md. */
  readonly fingerprint: string;
  readonly sql: {
    readonly text: string;
    /** One entry per statement, in order; empty for an empty query and on a parse error. */
    readonly statements: readonly SqlStatement[];
    /** null when the text parsed; otherwise the parser's message (statements is then empty). */
    readonly parse_error: string | null;
  };
};

export type SshRequestDetail =
  | { readonly type: 'exec'; readonly command: string; readonly pty: boolean }
  | { readonly type: 'shell'; readonly pty: boolean }
  | { readonly type: 'subsystem'; readonly subsystem: string }
  | {
      readonly type: 'port_forward';
      readonly direction: 'local' | 'remote';
      readonly host: string;
      readonly port: number;
    }
  | { readonly type: 'x11' }
  | { readonly type: 'agent_forward' };

export type SshRequest = {
  readonly kind: 'ssh';
  readonly fingerprint: string;
  readonly ssh: SshRequestDetail;
};

/** One JSON-RPC message from an MCP client (services/gateway/mcp/README.md). */
export type McpRequestDetail = {
  /** `request`, `notification` or `response` (a client's answer to a server request). */
  readonly message_type: 'request' | 'notification' | 'response';
  /** JSON-RPC method (`tools/call`, `tools/list`, `initialize`, …); '' for a response. */
  readonly method: string;
  /** `tools/call` and `prompts/get`: `params.name`; else null. */
  readonly tool: string | null;
  /** `resources/read`, `resources/subscribe`: `params.uri`; else null. */
  readonly resource: string | null;
  /** `tools/call`: `params.arguments` as parsed JSON (`{}` when absent); `prompts/get` likewise; else null. */
  readonly arguments: unknown;
  /** sha256 hex of the canonical JSON of `arguments` (keys sorted); '' when there are none. */
  readonly arguments_digest: string;
  /** The connection name of the upstream MCP server. */
  readonly server: string;
  /** The tool's definition changed since this gateway node first saw it (possible tool poisoning). */
  readonly tool_changed: boolean;
  /** `list`: the gateway asks whether to show this tool in a `tools/list` result; `call`: a real message. */
  readonly phase: 'call' | 'list';
  /** The MCP-Protocol-Version the client named ('' when none: an `initialize` or an old client). */
  readonly protocol_version: string;
};

export type McpRequest = {
  readonly kind: 'mcp';
  readonly fingerprint: string;
  readonly mcp: McpRequestDetail;
};

/** One HTTP request through the reverse proxy (services/gateway/http/README.md). */
export type HttpRequestDetail = {
  /** Upper case: `GET`, `DELETE`, … */
  readonly method: string;
  /** The path below the connection, decoded once, starting with `/` (`/customers/3`). */
  readonly path: string;
  /** Path segments (`["customers", "3"]`), for rules such as Kubernetes-style resource paths. */
  readonly segments: readonly string[];
  /** Query parameters; a repeated name keeps every value in order. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  /** The allowlisted request headers (lower-case names; `listeners.http.policyHeaders`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The media type without parameters (`application/json`), '' when there is no body. */
  readonly content_type: string;
  /** The parsed body when it is JSON, else null. */
  readonly json: unknown;
  /** Body length in bytes; for a body not inspected, its declared `Content-Length` (null when chunked). */
  readonly body_bytes: number | null;
  /** False when the body was larger than the proxy's bound and streams upstream unread (`json` is then null). */
  readonly body_inspected: boolean;
};

export type HttpRequest = {
  readonly kind: 'http';
  readonly fingerprint: string;
  readonly http: HttpRequestDetail;
};

/** `input.request`: one variant per protocol, told apart by `kind` (k8s/grpc come later). */
export type PolicyRequest = SqlRequest | SshRequest | McpRequest | HttpRequest;

export type Weekday = 'Sunday' | 'Monday' | 'Tuesday' | 'Wednesday' | 'Thursday' | 'Friday' | 'Saturday';

/** `input.time`: when the request arrived, in UTC (see `policyTime`). */
export type PolicyTime = {
  /** Unix seconds (integer). */
  readonly unix: number;
  readonly weekday: Weekday;
  /** 0-23, UTC. */
  readonly hour: number;
};

/** `input.grants[]`: an earlier approval that may be reused for this request. */
export type PolicyGrant = {
  readonly id: string;
  /** The identity the approval was granted to. */
  readonly sub: string;
  /** Connection name the approval is bound to. */
  readonly connection: string;
  /** The request fingerprint the approval is bound to. */
  readonly fingerprint: string;
  /** Groups whose members approved. */
  readonly groups: readonly string[];
  /** How many distinct approvers approved. */
  readonly approvals: number;
  /** Unix seconds. */
  readonly approved_at: number;
  /** Unix seconds; the grant is void at and after this instant. */
  readonly expires_at: number;
};

export type PolicyInput = {
  readonly identity: PolicyIdentity;
  readonly connection: PolicyConnection;
  readonly session: PolicySession;
  readonly request: PolicyRequest;
  readonly time: PolicyTime;
  readonly grants: readonly PolicyGrant[];
};

// ---- decision ---------------------------------------------------------------------------------------------

/** Content detectors the masker implements. A decision naming any other detector is malformed (deny). */
export const DETECTORS = ['card', 'email', 'national_id', 'phone', 'secret'] as const;

export type Detector = (typeof DETECTORS)[number];

export type AuditMode = 'sync' | 'batched';

export type ApprovalRequirement = {
  /** true: the request waits for approval (a gateway without an approval service refuses it with the reasons). */
  readonly required: boolean;
  /** An approver must belong to one of these groups. Empty when not required. */
  readonly groups: readonly string[];
  /** Distinct approvers needed (never the requester). 0 when not required. */
  readonly approvals_needed: number;
  /** How long the approval request stays open before it expires (and the request is denied). */
  readonly ttl_seconds: number;
  /** How long, after approval, the same request may reuse the grant (0 = this request only). */
  readonly reuse_seconds: number;
};

export type MaskSpec = {
  /** Result columns to mask: `table.column` or `schema.table.column`, lower case. */
  readonly columns: readonly string[];
  /** Structured fields to mask (JSON paths; HTTP/gRPC/MCP, later). */
  readonly fields: readonly string[];
  /** Content detectors to run over every response value. */
  readonly detectors: readonly Detector[];
};

export type Decision = {
  readonly allow: boolean;
  /** Why; never empty. Shown to the client on deny, recorded in the audit log always. */
  readonly reasons: readonly string[];
  readonly approval: ApprovalRequirement;
  readonly mask: MaskSpec;
  /** sync: publish request+decision with acks=all before forwarding; batched: via the bounded batch buffer. */
  readonly audit: AuditMode;
  /**
   * Ids of the `input.grants` this decision relies on (an allow that a reused approval made possible). Optional,
   * default none; only with `allow`. The gateway records the first one that is in `input.grants` as the decision
   * event's `grant_approval_id`: a grant that merely exists is never recorded.
   */
  readonly grants_used?: readonly string[];
};

// ---- engine result ----------------------------------------------------------------------------------------

/** Why an evaluation failed closed. Stable codes; the message is short and holds no input data. */
export const PolicyFailureCode = {
  inputInvalid: 'GH_ERR_POLICY_INPUT_INVALID',
  inputTooLarge: 'GH_ERR_POLICY_INPUT_TOO_LARGE',
  evalFailed: 'GH_ERR_POLICY_EVAL_FAILED',
  decisionUndefined: 'GH_ERR_POLICY_DECISION_UNDEFINED',
  decisionInvalid: 'GH_ERR_POLICY_DECISION_INVALID',
} as const satisfies Record<string, ErrorCode>;

export type PolicyFailureCode = (typeof PolicyFailureCode)[keyof typeof PolicyFailureCode];

export type PolicyFailure = { readonly code: PolicyFailureCode; readonly message: string };

/**
 * What `PolicyEngine.evaluate` returns. `failedClosed: true` means the policy could not decide and `decision` is
 * the fail-closed deny (reason `policy evaluation failed: <cause>`); log `failure` and count it in metrics.
 */
/** What a request's outcome is: allowed, denied, or held for approval. */
export type DecisionOutcome = 'allow' | 'deny' | 'approval';

/**
 * A shadow candidate's decision on the same input, present on a result only when its outcome differs from the
 * active revision's (`gatehouse policy publish --shadow`).
 */
export type ShadowResult = {
  readonly revision: string;
  readonly outcome: DecisionOutcome;
  readonly activeOutcome: DecisionOutcome;
  readonly decision: Decision;
  readonly failedClosed: boolean;
};

export type PolicyResult =
  | {
      readonly failedClosed: false;
      readonly decision: Decision;
      /** Bundle revision that decided (recorded on every decision event). */
      readonly revision: string;
      /** Wall time of the evaluation in microseconds (encode input, wasm eval, decode, validate). */
      readonly evalMicros: number;
      readonly shadow?: ShadowResult;
    }
  | {
      readonly failedClosed: true;
      readonly decision: Decision;
      readonly revision: string;
      readonly evalMicros: number;
      readonly failure: PolicyFailure;
      readonly shadow?: ShadowResult;
    };
