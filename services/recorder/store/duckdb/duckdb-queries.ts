import type { RecordedEvent, SessionSummary } from '../../replay/recorded-event.js';
import { recordedEvent } from '../event-row.js';
import type { EventColumns } from '../event-row.js';
import type { EventCursor, ReplayStore, SessionFilter } from '../session-queries.js';
import { toSummary } from '../session-queries.js';
import type { SessionRow } from '../session-queries.js';
import { Params } from './duckdb-connection.js';
import type { DuckDb } from './duckdb-connection.js';

type EventDbRow = EventColumns & { payload_hex: string; event_json: string };

/** Each event once (a redelivered copy is a second row with the same id, as in ClickHouse before a merge). */
const FIRST_COPY = 'QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY inserted_at) = 1';
const SESSION_COLUMNS = `session_id, epoch(started_at)::UBIGINT AS started, started_micros,
  epoch(ended_at)::UBIGINT AS ended, closed, epoch(last_event_at)::UBIGINT AS last_event, identity_sub,
  identity_email, identity_groups, is_agent, connection, protocol, node_id, client_addr, requests, allowed, denied,
  approvals, rows_returned, bytes, events, last_seq, close_reason`;
const CLOSING = `kind IN ('session_closed', 'login_refused')`;
const HAS_IDENTITY = `identity_sub != '' OR identity_email != ''`;

/**
 * The `sessions` row of each listed session, recomputed from its de-duplicated events: the DuckDB form of the
 * ClickHouse writer's INSERT … SELECT (same columns, same folds; `FILTER` for `-If`, `arg_max` for `argMax`).
 */
export function refreshSessionsSql(idList: string): string {
  return `INSERT INTO sessions (session_id, started_at, started_micros, ended_at, ended_micros, closed,
    last_event_at, identity_sub, identity_email, identity_groups, is_agent, connection, protocol, node_id,
    client_addr, requests, allowed, denied, approvals, rows_returned, bytes, events, last_seq, close_reason, version)
  SELECT
    session_id,
    min(ts),
    min(ts_micros),
    coalesce(max(ts) FILTER (WHERE ${CLOSING}), make_timestamp(0)),
    coalesce(max(ts_micros) FILTER (WHERE ${CLOSING}), 0),
    max(CASE WHEN ${CLOSING} THEN 1 ELSE 0 END),
    max(ts),
    coalesce(arg_max(identity_sub, seq) FILTER (WHERE ${HAS_IDENTITY}), ''),
    coalesce(arg_max(identity_email, seq) FILTER (WHERE ${HAS_IDENTITY}), ''),
    coalesce(arg_max(identity_groups, seq) FILTER (WHERE ${HAS_IDENTITY}), []::VARCHAR[]),
    coalesce(arg_max(is_agent, seq) FILTER (WHERE ${HAS_IDENTITY}), 0),
    coalesce(arg_max(connection, seq) FILTER (WHERE connection != ''), ''),
    coalesce(arg_max(protocol, seq) FILTER (WHERE protocol != ''), ''),
    arg_min(node_id, seq),
    coalesce(any_value(text) FILTER (WHERE kind IN ('session_opened', 'login_refused')), ''),
    count(DISTINCT request_id) FILTER (WHERE kind = 'request'),
    count(DISTINCT request_id) FILTER (WHERE kind = 'decision' AND decision = 'allow'),
    count(DISTINCT request_id) FILTER (WHERE kind = 'decision' AND decision = 'deny'),
    count(DISTINCT approval_id) FILTER (WHERE kind = 'approval_requested'),
    coalesce(sum(rows) FILTER (WHERE kind = 'response'), 0),
    coalesce(sum(payload_bytes) FILTER (WHERE kind = 'response' OR (kind = 'continuation' AND frame = 'data')), 0),
    count(*),
    max(seq),
    CASE WHEN count(*) FILTER (WHERE kind = 'login_refused') > 0
      THEN concat('login refused: ', any_value(code) FILTER (WHERE kind = 'login_refused'))
      ELSE coalesce(any_value(text) FILTER (WHERE kind = 'session_closed'), '') END,
    count(*)
  FROM (SELECT * FROM events WHERE session_id IN ${idList} ${FIRST_COPY})
  GROUP BY session_id`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The read side of the embedded store, answering as `SessionQueries` does on ClickHouse. */
export class DuckDbQueries implements ReplayStore {
  readonly #db: DuckDb;

  constructor(db: DuckDb) {
    this.#db = db;
  }

  async listSessions(filter: SessionFilter): Promise<SessionSummary[]> {
    const p = new Params();
    const inner = ['true'];
    if (filter.from)
      inner.push(`started_at >= make_timestamp(${p.add(filter.from.getTime())}::BIGINT * 1000)`);
    if (filter.to) inner.push(`started_at < make_timestamp(${p.add(filter.to.getTime())}::BIGINT * 1000)`);
    const outer = ['true'];
    if (filter.identity !== undefined)
      outer.push(`(identity_sub = ${p.add(filter.identity)} OR identity_email = ${p.add(filter.identity)})`);
    if (filter.connection !== undefined) outer.push(`connection = ${p.add(filter.connection)}`);
    const rows = await this.#db.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM (
        SELECT * FROM sessions WHERE ${inner.join(' AND ')}
        QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY version DESC, updated_at DESC) = 1
      )
      WHERE ${outer.join(' AND ')}
      ORDER BY started_micros DESC, session_id
      LIMIT ${p.add(filter.limit)}`,
      p,
    );
    return rows.map(toSummary);
  }

  async getSession(sessionId: string): Promise<SessionSummary | undefined> {
    const p = new Params();
    const rows = await this.#db.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions WHERE session_id = ${p.add(sessionId)}
       ORDER BY version DESC, updated_at DESC LIMIT 1`,
      p,
    );
    return rows[0] === undefined ? undefined : toSummary(rows[0]);
  }

  async sessionEvents(
    sessionId: string,
    after: EventCursor | undefined,
    limit: number,
  ): Promise<RecordedEvent[]> {
    const p = new Params();
    const position =
      after === undefined
        ? 'true'
        : `(seq > ${p.add(after.seq)} OR (seq = ${p.add(after.seq)} AND event_id > ${p.add(after.eventId)}))`;
    const rows = await this.#db.query<EventDbRow>(
      `SELECT event_id, session_id, seq, ts_micros, node_id, kind, protocol, connection, identity_sub,
        identity_email, identity_groups, is_agent, request_id, request_kind, decision, reasons, policy_revision,
        statement, approval_id, reviewer, frame, rows, code, text, hex(payload) AS payload_hex, event_json
      FROM events
      WHERE session_id = ${p.add(sessionId)} AND ${position}
      ${FIRST_COPY}
      ORDER BY seq, event_id
      LIMIT ${p.add(limit)}`,
      p,
    );
    return rows.map((r) => recordedEvent(r, Buffer.from(r.payload_hex, 'hex'), parseJson(r.event_json)));
  }
}
