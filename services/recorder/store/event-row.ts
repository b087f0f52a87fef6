import type { Event } from '../../shared/events/codec.js';
import type { RowBinaryWriter } from '../clickhouse/row-binary.js';
import { fullEventJson, leanEventJson } from './event-json.js';
import type { RecordedEvent } from '../replay/recorded-event.js';

/** Where a record came from in Kafka (kept with the row for audits of the pipeline itself). */
export type KafkaPosition = { topic: string; partition: number; offset: string };

/** One row of `gatehouse.events`, in column order (see EVENT_COLUMNS). */
export type EventRow = {
  event_id: string;
  session_id: string;
  seq: bigint;
  /** Unix seconds (the `DateTime` column). */
  ts: number;
  ts_micros: bigint;
  node_id: string;
  kind: string;
  protocol: string;
  connection: string;
  identity_sub: string;
  identity_email: string;
  identity_groups: string[];
  is_agent: boolean;
  request_id: number;
  request_kind: string;
  decision: string;
  reasons: string[];
  policy_revision: string;
  statement: string;
  approval_id: string;
  reviewer: string;
  frame: string;
  rows: number;
  code: string;
  text: string;
  payload: Uint8Array;
  payload_bytes: number;
  event_json: string;
  kafka_topic: string;
  kafka_partition: number;
  kafka_offset: bigint;
};

export const EVENT_COLUMNS = [
  'event_id',
  'session_id',
  'seq',
  'ts',
  'ts_micros',
  'node_id',
  'kind',
  'protocol',
  'connection',
  'identity_sub',
  'identity_email',
  'identity_groups',
  'is_agent',
  'request_id',
  'request_kind',
  'decision',
  'reasons',
  'policy_revision',
  'statement',
  'approval_id',
  'reviewer',
  'frame',
  'rows',
  'code',
  'text',
  'payload',
  'payload_bytes',
  'event_json',
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
] as const satisfies readonly (keyof EventRow)[];

const KINDS = {
  sessionOpened: 'session_opened',
  request: 'request',
  decision: 'decision',
  approvalRequested: 'approval_requested',
  approvalDecided: 'approval_decided',
  response: 'response',
  sessionClosed: 'session_closed',
  approvalReviewed: 'approval_reviewed',
  continuation: 'continuation',
  auditFailure: 'audit_failure',
  security: 'security',
  loginRefused: 'login_refused',
  mcpToolChanged: 'mcp_tool_changed',
  batch: 'batch',
  shadowDecision: 'shadow_decision',
} as const satisfies Record<NonNullable<Event['body']['case']>, string>;

/**
 * Envelopes on the approvals topic carry `session_id = "approval:<approval id>"` (their own stream); they are
 * recorded like any event but are not gateway sessions (no `sessions` summary row).
 */
export const APPROVAL_STREAM_PREFIX = 'approval:';

/** Where decisions and approval events find the text of the request they are about. */
export type StatementLookup = {
  byRequest(sessionId: string, requestId: number): string | undefined;
  byApproval(approvalId: string): string | undefined;
};

/**
 * Shared by the rows that have no groups, reasons or payload (never mutated; rows share their event's arrays too:
 * a row is written, not edited).
 */
const NO_STRINGS: string[] = [];
const NO_BYTES = new Uint8Array(0);

/** The offset of a record as a bigint, parsed once per record (its events share the position object). */
const offsets = new WeakMap<KafkaPosition, bigint>();
function offsetOf(at: KafkaPosition): bigint {
  let offset = offsets.get(at);
  if (offset === undefined) offsets.set(at, (offset = BigInt(at.offset)));
  return offset;
}

/** Largest unix second a ClickHouse `DateTime` holds (2106-02-07). */
const MAX_DATETIME = 4_294_967_295n;

/** The request a decision/approval belongs to: `(session, request id)`. */
export function requestKey(sessionId: string, requestId: number): string {
  return `${sessionId}\u0000${requestId}`;
}

/** The request an approval is about, by approval id (a key space apart from `requestKey`). */
export function approvalKey(approvalId: string): string {
  return `\u0001${approvalId}`;
}

/** The decision column: 'approval' when a human must approve, else 'allow' or 'deny'. */
export function decisionLabel(allow: boolean, approvalRequired: boolean): 'allow' | 'deny' | 'approval' {
  if (approvalRequired) return 'approval';
  return allow ? 'allow' : 'deny';
}

/**
 * Flattens a decoded event into the `events` row. Pure. `statements` supplies the request text for decisions and
 * approval outcomes (which do not carry it themselves).
 */
export function toEventRow(event: Event, at: KafkaPosition, statements: StatementLookup): EventRow {
  let micros = event.tsMicros < 0n ? 0n : event.tsMicros;
  if (micros / 1_000_000n > MAX_DATETIME) micros = MAX_DATETIME * 1_000_000n;
  const id = event.identity;
  const row: EventRow = {
    event_id: event.eventId,
    session_id: event.sessionId,
    seq: event.seq,
    ts: Number(micros / 1_000_000n),
    ts_micros: micros,
    node_id: event.nodeId,
    kind: event.body.case === undefined ? 'unknown' : KINDS[event.body.case],
    protocol: event.protocol || (event.connection?.protocol ?? ''),
    connection: event.connection?.name ?? '',
    identity_sub: id?.sub ?? '',
    identity_email: id?.email ?? '',
    identity_groups: id?.groups ?? NO_STRINGS,
    is_agent: id?.agent ?? false,
    request_id: 0,
    request_kind: '',
    decision: '',
    reasons: NO_STRINGS,
    policy_revision: event.policyRevision,
    statement: '',
    approval_id: '',
    reviewer: '',
    frame: '',
    rows: 0,
    code: '',
    text: '',
    payload: NO_BYTES,
    payload_bytes: 0,
    event_json: '',
    kafka_topic: at.topic,
    kafka_partition: at.partition,
    kafka_offset: offsetOf(at),
  };
  row.event_json = leanEventJson(event, micros);
  const body = event.body;
  switch (body.case) {
    case 'sessionOpened':
      row.text = body.value.clientAddr;
      break;
    case 'request':
      row.request_id = body.value.requestId;
      row.request_kind = body.value.kind;
      row.statement = body.value.text;
      break;
    case 'decision':
      row.request_id = body.value.requestId;
      row.decision = decisionLabel(body.value.allow, body.value.approvalRequired);
      row.reasons = body.value.reasons;
      row.statement = statements.byRequest(event.sessionId, body.value.requestId) ?? '';
      break;
    case 'approvalRequested':
      row.request_id = body.value.requestId;
      row.approval_id = body.value.approvalId;
      row.reasons = body.value.reasons;
      row.statement =
        body.value.requestText || (statements.byRequest(event.sessionId, body.value.requestId) ?? '');
      break;
    case 'approvalDecided':
      row.request_id = body.value.requestId;
      row.approval_id = body.value.approvalId;
      row.code = body.value.outcome;
      row.text = body.value.reason;
      row.reviewer = body.value.reviewer?.email || (body.value.reviewer?.sub ?? '');
      row.statement =
        statements.byRequest(event.sessionId, body.value.requestId) ??
        statements.byApproval(body.value.approvalId) ??
        '';
      break;
    case 'approvalReviewed':
      row.approval_id = body.value.approvalId;
      row.code = body.value.verdict;
      row.text = body.value.reason;
      row.reviewer = body.value.reviewer?.email || (body.value.reviewer?.sub ?? '');
      row.statement = statements.byApproval(body.value.approvalId) ?? '';
      break;
    case 'response':
      row.request_id = body.value.requestId;
      row.frame = body.value.frame;
      row.rows = body.value.rows;
      row.code = body.value.code;
      row.text = body.value.text;
      row.payload = body.value.data;
      row.payload_bytes = body.value.data.length;
      break;
    case 'sessionClosed':
      row.text = body.value.reason;
      break;
    case 'continuation':
      row.request_id = body.value.requestId;
      row.frame = body.value.fieldName;
      row.code = String(body.value.headSeq);
      row.text = `${body.value.part}/${body.value.parts}`;
      row.payload = body.value.data;
      row.payload_bytes = body.value.data.length;
      break;
    case 'auditFailure':
      row.code = body.value.error;
      row.text = body.value.message;
      break;
    case 'security':
      row.request_id = body.value.requestId;
      row.approval_id = body.value.approvalId;
      row.code = body.value.code;
      row.text = body.value.reason;
      break;
    case 'mcpToolChanged':
      // `text` names the tool, `code` the pinned → listed digests, `reasons` what changed.
      row.request_id = body.value.requestId;
      row.text = `${body.value.server}/${body.value.tool}`;
      row.code = `${body.value.pinnedDigest.slice(0, 12)}→${body.value.digest.slice(0, 12)}`;
      row.reasons = body.value.changed;
      break;
    case 'loginRefused':
      // Like session_opened, `text` is the client address; `code` is the reason, `reasons` the explanation.
      row.text = body.value.clientAddr;
      row.code = body.value.reason;
      row.reasons = [body.value.detail];
      break;
    case undefined:
      break;
  }
  return row;
}

/** The values of a row in EVENT_COLUMNS order, for `valuesRow`. */
export function eventRowValues(
  row: EventRow,
): (string | number | bigint | boolean | Uint8Array | readonly string[])[] {
  return EVENT_COLUMNS.map((c) => row[c]);
}

/**
 * Writes a row in `RowBinary`, in EVENT_COLUMNS order with the types of migration 001 (`ts` is a `DateTime`: unix
 * seconds as UInt32; `is_agent` a UInt8). Keep in step with EVENT_COLUMNS.
 */
export function writeEventRow(out: RowBinaryWriter, row: EventRow): void {
  out.string(row.event_id);
  out.string(row.session_id);
  out.uint64(row.seq);
  out.uint32(row.ts);
  out.uint64(row.ts_micros);
  out.string(row.node_id);
  out.string(row.kind);
  out.string(row.protocol);
  out.string(row.connection);
  out.string(row.identity_sub);
  out.string(row.identity_email);
  out.strings(row.identity_groups);
  out.uint8(row.is_agent);
  out.uint32(row.request_id);
  out.string(row.request_kind);
  out.string(row.decision);
  out.strings(row.reasons);
  out.string(row.policy_revision);
  out.string(row.statement);
  out.string(row.approval_id);
  out.string(row.reviewer);
  out.string(row.frame);
  out.uint32(row.rows);
  out.string(row.code);
  out.string(row.text);
  out.bytes(row.payload);
  out.uint32(row.payload_bytes);
  out.string(row.event_json);
  out.string(row.kafka_topic);
  out.uint32(row.kafka_partition);
  out.uint64(row.kafka_offset);
}

/**
 * The columns of an events row as this module builds them (EventRow) or as a query reads them back from ClickHouse
 * (integers as strings, booleans as 0/1).
 */
export type EventColumns = Pick<
  EventRow,
  | 'event_id'
  | 'session_id'
  | 'node_id'
  | 'kind'
  | 'protocol'
  | 'connection'
  | 'identity_sub'
  | 'identity_email'
  | 'identity_groups'
  | 'request_kind'
  | 'decision'
  | 'reasons'
  | 'policy_revision'
  | 'statement'
  | 'approval_id'
  | 'reviewer'
  | 'frame'
  | 'code'
  | 'text'
> & {
  seq: bigint | string;
  ts_micros: bigint | string;
  is_agent: boolean | number;
  request_id: number | string;
  rows: number | string;
};

/** The replay API's view of an events row: the one mapping for built rows and rows read back. Pure. */
export function recordedEvent(r: EventColumns, payload: Uint8Array, storedJson: unknown): RecordedEvent {
  const event = fullEventJson(r, storedJson);
  return {
    eventId: r.event_id,
    sessionId: r.session_id,
    seq: Number(r.seq),
    tsMicros: Number(r.ts_micros),
    nodeId: r.node_id,
    kind: r.kind,
    protocol: r.protocol,
    connection: r.connection,
    identity: {
      sub: r.identity_sub,
      email: r.identity_email,
      groups: r.identity_groups,
      agent: Number(r.is_agent) === 1,
    },
    requestId: Number(r.request_id),
    requestKind: r.request_kind,
    decision: r.decision,
    reasons: r.reasons,
    policyRevision: r.policy_revision,
    statement: r.statement,
    approvalId: r.approval_id,
    reviewer: r.reviewer,
    frame: r.frame,
    rows: Number(r.rows),
    code: r.code,
    text: r.text,
    payload: Buffer.from(payload).toString('base64'),
    event,
  };
}

/** The replay API's view of a row built here (what a query returns for it). Pure; used by tests and tools. */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return recordedEvent(row, row.payload, JSON.parse(row.event_json) as unknown);
}
