import type { ClickHouse } from '../clickhouse/client.js';
import { inList, joinSql, sql } from '../clickhouse/quote.js';
import type { Sql } from '../clickhouse/quote.js';
import { timelineText } from '../replay/timeline-entry.js';
import type { TimelineEntry, TimelineProtocol } from '../replay/timeline-entry.js';

/** What `GET /v1/timeline` asks for: one identity's requests in [from, to). */
export type TimelineFilter = {
  /** Matches the session's subject or email exactly. */
  identity: string;
  from: Date;
  to: Date;
  connection?: string | undefined;
  protocol?: TimelineProtocol | undefined;
  /** Most entries returned; one more is read to tell whether the list was cut. */
  limit: number;
  /** Most characters of each request text read from the store (`statement`, cut beyond). */
  maxStatementChars: number;
};

type RequestRow = {
  session_id: string;
  request_id: number | string;
  at_micros: string;
  entry_kind: string;
  req_kind: string;
  req_text: string;
  req_chars: number | string;
  verdict: string;
  why: string[];
  approval_outcome: string;
  refused_code: string;
};

type SessionRow = {
  session_id: string;
  s_protocol: string;
  s_connection: string;
  s_sub: string;
  s_email: string;
};

/** Event kinds a timeline reads: the request, its decision, how its approval ended, and refused logins. */
const KINDS = ['request', 'decision', 'approval_decided', 'login_refused'];

/**
 * The sessions of the identity that may hold requests in the window. Identity (and connection, protocol) come from
 * the `sessions` summary, never from every event row: a session states them once, in `session.opened`. Any summary
 * version of a session may match: they differ only in counters and in `last_event_at`, which only grows.
 */
function sessionsOf(f: TimelineFilter): Sql {
  const where: Sql[] = [
    sql`(identity_sub = ${f.identity} OR identity_email = ${f.identity})`,
    sql`last_event_at >= ${f.from}`,
    sql`started_at < ${f.to}`,
  ];
  if (f.connection !== undefined) where.push(sql`connection = ${f.connection}`);
  if (f.protocol !== undefined) where.push(sql`protocol = ${f.protocol}`);
  return sql`SELECT session_id FROM sessions WHERE ${joinSql(where, sql` AND `)}`;
}

/**
 * One row per request (and per refused login) of the identity's sessions, folded from the de-duplicated request,
 * decision and approval rows of each `(session_id, request_id)`; oldest first.
 */
function requestsStatement(f: TimelineFilter): Sql {
  const fromMicros = BigInt(f.from.getTime()) * 1000n;
  const toMicros = BigInt(f.to.getTime()) * 1000n;
  return sql`SELECT
      session_id,
      request_id,
      minIf(ts_micros, kind IN ('request', 'login_refused')) AS at_micros,
      anyIf(kind, kind IN ('request', 'login_refused')) AS entry_kind,
      anyIf(request_kind, kind = 'request') AS req_kind,
      substringUTF8(anyIf(statement, kind = 'request'), 1, ${f.maxStatementChars}) AS req_text,
      lengthUTF8(anyIf(statement, kind = 'request')) AS req_chars,
      argMaxIf(decision, seq, kind = 'decision') AS verdict,
      argMaxIf(reasons, seq, kind IN ('decision', 'login_refused')) AS why,
      argMaxIf(code, seq, kind = 'approval_decided') AS approval_outcome,
      anyIf(code, kind = 'login_refused') AS refused_code
    FROM
    (
      SELECT session_id, event_id, seq, ts_micros, kind, request_id, request_kind, statement, decision, reasons, code
      FROM events
      WHERE session_id IN (${sessionsOf(f)})
        AND kind IN ${inList(KINDS)}
        AND ts >= ${f.from}
      LIMIT 1 BY event_id
    )
    GROUP BY session_id, request_id
    HAVING at_micros >= ${fromMicros} AND at_micros < ${toMicros}
    ORDER BY at_micros, session_id, request_id
    LIMIT ${f.limit + 1}`;
}

function sessionsStatement(ids: readonly string[]): Sql {
  return sql`SELECT session_id, argMax(protocol, version) AS s_protocol, argMax(connection, version) AS s_connection,
      argMax(identity_sub, version) AS s_sub, argMax(identity_email, version) AS s_email
    FROM sessions WHERE session_id IN ${inList(ids)} GROUP BY session_id`;
}

function toEntry(r: RequestRow, s: SessionRow | undefined): TimelineEntry {
  const micros = Number(r.at_micros);
  const login = r.entry_kind === 'login_refused';
  const requestKind = login ? 'login' : r.req_kind;
  const chars = Number(r.req_chars);
  return {
    at: new Date(Math.floor(micros / 1000)).toISOString(),
    atMicros: micros,
    protocol: s?.s_protocol ?? '',
    connection: s?.s_connection ?? '',
    sessionId: r.session_id,
    requestId: Number(r.request_id),
    requestKind,
    text: timelineText(requestKind, r.req_text, [...r.req_text].length >= chars, r.refused_code),
    statement: r.req_text,
    statementChars: chars,
    decision: login ? 'refused' : r.verdict,
    approval: r.approval_outcome,
    reasons: r.why,
    identity: { sub: s?.s_sub ?? '', email: s?.s_email ?? '' },
  };
}

/** An identity's requests across every protocol, oldest first, at most `limit` (`truncated` when there were more). */
export async function queryTimeline(
  ch: ClickHouse,
  f: TimelineFilter,
): Promise<{ entries: TimelineEntry[]; truncated: boolean }> {
  const rows = await ch.query<RequestRow>(requestsStatement(f));
  const truncated = rows.length > f.limit;
  const shown = rows.slice(0, f.limit);
  const ids = [...new Set(shown.map((r) => r.session_id))];
  const sessions = ids.length === 0 ? [] : await ch.query<SessionRow>(sessionsStatement(ids));
  const byId = new Map(sessions.map((s) => [s.session_id, s]));
  return { entries: shown.map((r) => toEntry(r, byId.get(r.session_id))), truncated };
}
