import type { RowBinaryWriter } from '../clickhouse/row-binary.js';
import { APPROVAL_STREAM_PREFIX } from './event-row.js';
import type { EventRow } from './event-row.js';

/**
 * A `sessions` row (migration 002) as the recorder folds it: the previous row plus the session's new events, in seq
 * order, each event once. Folding replaces recomputing the row from all of the session's events after every write
 * (which read the whole session again: quadratic in its length). Pure.
 */
export type SessionSummary = {
  session_id: string;
  started_at: number;
  started_micros: bigint;
  ended_at: number;
  ended_micros: bigint;
  closed: boolean;
  last_event_at: number;
  identity_sub: string;
  identity_email: string;
  identity_groups: readonly string[];
  is_agent: boolean;
  connection: string;
  protocol: string;
  node_id: string;
  client_addr: string;
  requests: bigint;
  allowed: bigint;
  denied: bigint;
  approvals: bigint;
  rows_returned: bigint;
  bytes: bigint;
  events: bigint;
  last_seq: bigint;
  close_reason: string;
  version: bigint;
};

/** The `sessions` columns the recorder writes (all but `updated_at`), in `writeSessionRow` order. */
export const SESSION_COLUMNS = [
  'session_id',
  'started_at',
  'started_micros',
  'ended_at',
  'ended_micros',
  'closed',
  'last_event_at',
  'identity_sub',
  'identity_email',
  'identity_groups',
  'is_agent',
  'connection',
  'protocol',
  'node_id',
  'client_addr',
  'requests',
  'allowed',
  'denied',
  'approvals',
  'rows_returned',
  'bytes',
  'events',
  'last_seq',
  'close_reason',
  'version',
] as const satisfies readonly (keyof SessionSummary)[];

const LOGIN_REFUSED = 'login refused: ';

/** The columns of the event rows a fold reads. */
export type FoldedRow = Pick<
  EventRow,
  | 'session_id'
  | 'seq'
  | 'ts'
  | 'ts_micros'
  | 'kind'
  | 'identity_sub'
  | 'identity_email'
  | 'identity_groups'
  | 'is_agent'
  | 'connection'
  | 'protocol'
  | 'node_id'
  | 'text'
  | 'code'
  | 'decision'
  | 'rows'
  | 'payload_bytes'
  | 'frame'
>;

/**
 * The part of a row a fold reads, as a small object of its own: a write's rows are folded after its INSERT, and
 * holding this instead of the row lets the row (its JSON, statement and payload) be collected as soon as it is
 * encoded. `text` and `code` are kept only for the kinds whose fold reads them.
 */
export function foldInput(row: FoldedRow): FoldedRow {
  const textRead =
    row.kind === 'session_opened' || row.kind === 'login_refused' || row.kind === 'session_closed';
  return {
    session_id: row.session_id,
    seq: row.seq,
    ts: row.ts,
    ts_micros: row.ts_micros,
    kind: row.kind,
    identity_sub: row.identity_sub,
    identity_email: row.identity_email,
    identity_groups: row.identity_groups,
    is_agent: row.is_agent,
    connection: row.connection,
    protocol: row.protocol,
    node_id: row.node_id,
    text: textRead ? row.text : '',
    code: row.kind === 'login_refused' ? row.code : '',
    decision: row.decision,
    rows: row.rows,
    payload_bytes: row.payload_bytes,
    frame: row.kind === 'continuation' ? row.frame : '',
  };
}

function emptySummary(first: FoldedRow): SessionSummary {
  return {
    session_id: first.session_id,
    started_at: first.ts,
    started_micros: first.ts_micros,
    ended_at: 0,
    ended_micros: 0n,
    closed: false,
    last_event_at: first.ts,
    identity_sub: '',
    identity_email: '',
    identity_groups: [],
    is_agent: false,
    connection: '',
    protocol: '',
    node_id: first.node_id,
    client_addr: '',
    requests: 0n,
    allowed: 0n,
    denied: 0n,
    approvals: 0n,
    rows_returned: 0n,
    bytes: 0n,
    events: 0n,
    last_seq: 0n,
    close_reason: '',
    version: 0n,
  };
}

/**
 * `previous` (undefined: no row yet) folded with `rows` of the same session, which must be in seq order. Rows at
 * or below the previous `last_seq` were counted already (a redelivery) and are skipped, so folding the same rows
 * again changes nothing. Returns undefined when no row was new. Gives the row that recomputing it from the
 * de-duplicated events gives (`recomputeSessionsSql`; tested against it), as long as a session's events arrive in
 * seq order, which the partitioning by session guarantees.
 */
export function foldSession(
  previous: SessionSummary | undefined,
  rows: readonly FoldedRow[],
): SessionSummary | undefined {
  let s: SessionSummary | undefined;
  // Counted as numbers and added to the row's 64-bit counts once: BigInt arithmetic per event allocates.
  let requests = 0;
  let allowed = 0;
  let denied = 0;
  let approvals = 0;
  let rowsReturned = 0;
  let bytes = 0;
  let events = 0;
  for (const r of rows) {
    const base = s ?? previous;
    if (base !== undefined && r.seq <= base.last_seq) continue;
    s ??= previous === undefined ? emptySummary(r) : { ...previous };
    if (r.ts < s.started_at) s.started_at = r.ts;
    if (r.ts_micros < s.started_micros) s.started_micros = r.ts_micros;
    if (r.ts > s.last_event_at) s.last_event_at = r.ts;
    const closing = r.kind === 'session_closed' || r.kind === 'login_refused';
    if (closing) {
      if (r.ts > s.ended_at) s.ended_at = r.ts;
      if (r.ts_micros > s.ended_micros) s.ended_micros = r.ts_micros;
      s.closed = true;
    }
    if (r.identity_sub !== '' || r.identity_email !== '') {
      s.identity_sub = r.identity_sub;
      s.identity_email = r.identity_email;
      s.identity_groups = r.identity_groups;
      s.is_agent = r.is_agent;
    }
    if (r.connection !== '') s.connection = r.connection;
    if (r.protocol !== '') s.protocol = r.protocol;
    switch (r.kind) {
      case 'session_opened':
        if (s.client_addr === '') s.client_addr = r.text;
        break;
      case 'login_refused':
        if (s.client_addr === '') s.client_addr = r.text;
        if (!s.close_reason.startsWith(LOGIN_REFUSED)) s.close_reason = `${LOGIN_REFUSED}${r.code}`;
        break;
      case 'session_closed':
        if (s.close_reason === '') s.close_reason = r.text;
        break;
      case 'request':
        requests++;
        break;
      case 'decision':
        if (r.decision === 'allow') allowed++;
        else if (r.decision === 'deny') denied++;
        break;
      case 'approval_requested':
        approvals++;
        break;
      case 'response':
        rowsReturned += r.rows;
        bytes += r.payload_bytes;
        break;
      case 'continuation':
        if (r.frame === 'data') bytes += r.payload_bytes;
        break;
      default:
        break;
    }
    events++;
    s.last_seq = r.seq;
  }
  if (s === undefined) return undefined;
  s.requests += BigInt(requests);
  s.allowed += BigInt(allowed);
  s.denied += BigInt(denied);
  s.approvals += BigInt(approvals);
  s.rows_returned += BigInt(rowsReturned);
  s.bytes += BigInt(bytes);
  s.events += BigInt(events);
  s.version = s.events;
  return s;
}

/** The gateway sessions among `rows` (approval streams have no summary), each session's rows in seq order. */
export function rowsBySession<T extends FoldedRow>(rows: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    if (r.session_id.startsWith(APPROVAL_STREAM_PREFIX)) continue;
    let list = out.get(r.session_id);
    if (list === undefined) out.set(r.session_id, (list = []));
    list.push(r);
  }
  for (const list of out.values()) {
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.seq < list[i - 1]!.seq) {
        list.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
        break;
      }
    }
  }
  return out;
}

/** A `sessions` row as `SELECT … FROM sessions` returns it in JSONEachRow (64-bit integers as strings). */
export type StoredSessionRow = Record<(typeof SESSION_COLUMNS)[number], unknown>;

/** Reads a stored row back into a summary. */
export function storedSummary(r: StoredSessionRow): SessionSummary {
  const big = (v: unknown) => BigInt(String(v));
  const num = (v: unknown) => Number(v);
  return {
    session_id: String(r.session_id),
    started_at: num(r.started_at),
    started_micros: big(r.started_micros),
    ended_at: num(r.ended_at),
    ended_micros: big(r.ended_micros),
    closed: num(r.closed) === 1,
    last_event_at: num(r.last_event_at),
    identity_sub: String(r.identity_sub),
    identity_email: String(r.identity_email),
    identity_groups: (r.identity_groups as string[]) ?? [],
    is_agent: num(r.is_agent) === 1,
    connection: String(r.connection),
    protocol: String(r.protocol),
    node_id: String(r.node_id),
    client_addr: String(r.client_addr),
    requests: big(r.requests),
    allowed: big(r.allowed),
    denied: big(r.denied),
    approvals: big(r.approvals),
    rows_returned: big(r.rows_returned),
    bytes: big(r.bytes),
    events: big(r.events),
    last_seq: big(r.last_seq),
    close_reason: String(r.close_reason),
    version: big(r.version),
  };
}

/** Writes a summary in `RowBinary`, in SESSION_COLUMNS order with the types of migration 002. */
export function writeSessionRow(out: RowBinaryWriter, s: SessionSummary): void {
  out.string(s.session_id);
  out.uint32(s.started_at);
  out.uint64(s.started_micros);
  out.uint32(s.ended_at);
  out.uint64(s.ended_micros);
  out.uint8(s.closed);
  out.uint32(s.last_event_at);
  out.string(s.identity_sub);
  out.string(s.identity_email);
  out.strings(s.identity_groups);
  out.uint8(s.is_agent);
  out.string(s.connection);
  out.string(s.protocol);
  out.string(s.node_id);
  out.string(s.client_addr);
  out.uint64(s.requests);
  out.uint64(s.allowed);
  out.uint64(s.denied);
  out.uint64(s.approvals);
  out.uint64(s.rows_returned);
  out.uint64(s.bytes);
  out.uint64(s.events);
  out.uint64(s.last_seq);
  out.string(s.close_reason);
  out.uint64(s.version);
}
