/**
 * One recorded event as the replay API returns it (JSON) and the transcript renderer reads it. Field meanings match
 * the `gatehouse.events` columns (see deploy/clickhouse/README.md); `payload` is the base64 of the exact bytes the
 * client received.
 */
export type RecordedEvent = {
  eventId: string;
  sessionId: string;
  seq: number;
  /** Microseconds since the Unix epoch (node clock). */
  tsMicros: number;
  nodeId: string;
  /**
   * session_opened | request | decision | approval_requested | approval_decided | approval_reviewed | response |
   * session_closed
   */
  kind: string;
  protocol: string;
  connection: string;
  identity: { sub: string; email: string; groups: string[]; agent: boolean };
  requestId: number;
  /** Request kind: sql, ssh.exec, ssh.shell, http, grpc, mcp. */
  requestKind: string;
  /** 'allow' | 'deny' | 'approval' for decisions, '' otherwise. */
  decision: string;
  reasons: string[];
  policyRevision: string;
  /** The request text, on request, decision and approval events. */
  statement: string;
  approvalId: string;
  /** Reviewer of an approval decision (email, else subject). */
  reviewer: string;
  /** Response frame type (row_description, data_rows, command_complete, error, notice, ready, stdout, …). */
  frame: string;
  rows: number;
  /** SQLSTATE, exit status, approval outcome (approved/rejected/expired/ignored) or review verdict (approve/reject). */
  code: string;
  /** Command tag, error message, close reason, approval reason, client address. */
  text: string;
  /** Base64 of the raw response bytes. */
  payload: string;
  /** The decoded event without its payload (protobuf JSON form). */
  event: unknown;
};

/** One row of `GET /v1/sessions`. */
export type SessionSummary = {
  sessionId: string;
  startedAt: string;
  startedMicros: number;
  /** Empty while the session is open (no session_closed recorded). */
  endedAt: string;
  closed: boolean;
  lastEventAt: string;
  identity: { sub: string; email: string; groups: string[]; agent: boolean };
  connection: string;
  protocol: string;
  nodeId: string;
  clientAddr: string;
  requests: number;
  allowed: number;
  denied: number;
  approvals: number;
  rowsReturned: number;
  bytes: number;
  events: number;
  lastSeq: number;
  closeReason: string;
};
