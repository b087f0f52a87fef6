import type { ClickHouse } from '../clickhouse/client.js';
import { joinSql, sql } from '../clickhouse/quote.js';
import type { Sql } from '../clickhouse/quote.js';
import type { RecordedEvent, SessionSummary } from '../replay/recorded-event.js';
import type { TimelineEntry } from '../replay/timeline-entry.js';
import { recordedEvent } from './event-row.js';
import type { EventColumns } from './event-row.js';
import { queryTimeline } from './timeline-queries.js';
import type { TimelineFilter } from './timeline-queries.js';

/** The read side of the recording store (replay API). Every query de-duplicates redelivered rows. */

export type SessionFilter = {
  /** Matches the subject or the email. */
  identity?: string;
  connection?: string;
  /** Sessions that started at or after this time. */
  from?: Date;
  /** Sessions that started before this time. */
  to?: Date;
  limit: number;
};

/** Position after the last event of a page: `(seq, event_id)`. */
export type EventCursor = { seq: bigint; eventId: string };

/** A `sessions` row as the queries select it (`SESSION_COLUMNS`). */
export type SessionRow = {
  session_id: string;
  started: number;
  started_micros: string;
  ended: number;
  closed: number;
  last_event: number;
  identity_sub: string;
  identity_email: string;
  identity_groups: string[];
  is_agent: number;
  connection: string;
  protocol: string;
  node_id: string;
  client_addr: string;
  requests: string;
  allowed: string;
  denied: string;
  approvals: string;
  rows_returned: string;
  bytes: string;
  events: string;
  last_seq: string;
  close_reason: string;
};

/** An events row as `sessionEvents` selects it (the payload as hex). */
type EventDbRow = EventColumns & { payload_hex: string; event_json: string };

const SESSION_COLUMNS = sql`session_id, toUInt32(started_at) AS started, started_micros, toUInt32(ended_at) AS ended,
  closed, toUInt32(last_event_at) AS last_event, identity_sub, identity_email, identity_groups, is_agent, connection,
  protocol, node_id, client_addr, requests, allowed, denied, approvals, rows_returned, bytes, events, last_seq,
  close_reason`;

const iso = (unixSeconds: number): string => new Date(Number(unixSeconds) * 1000).toISOString();

export function toSummary(r: SessionRow): SessionSummary {
  const closed = Number(r.closed) === 1;
  return {
    sessionId: r.session_id,
    startedAt: iso(r.started),
    startedMicros: Number(r.started_micros),
    endedAt: closed ? iso(r.ended) : '',
    closed,
    lastEventAt: iso(r.last_event),
    identity: {
      sub: r.identity_sub,
      email: r.identity_email,
      groups: r.identity_groups,
      agent: Number(r.is_agent) === 1,
    },
    connection: r.connection,
    protocol: r.protocol,
    nodeId: r.node_id,
    clientAddr: r.client_addr,
    requests: Number(r.requests),
    allowed: Number(r.allowed),
    denied: Number(r.denied),
    approvals: Number(r.approvals),
    rowsReturned: Number(r.rows_returned),
    bytes: Number(r.bytes),
    events: Number(r.events),
    lastSeq: Number(r.last_seq),
    closeReason: r.close_reason,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function toRecorded(r: EventDbRow): RecordedEvent {
  return recordedEvent(r, Buffer.from(r.payload_hex, 'hex'), parseJson(r.event_json));
}

/** What the replay API reads (implemented by SessionQueries over ClickHouse). */
export interface ReplayStore {
  listSessions(filter: SessionFilter): Promise<SessionSummary[]>;
  getSession(sessionId: string): Promise<SessionSummary | undefined>;
  sessionEvents(sessionId: string, after: EventCursor | undefined, limit: number): Promise<RecordedEvent[]>;
  /** One identity's requests across protocols (`GET /v1/timeline`); a store without it answers that route 404. */
  timeline?(filter: TimelineFilter): Promise<{ entries: TimelineEntry[]; truncated: boolean }>;
}

export class SessionQueries implements ReplayStore {
  readonly #ch: ClickHouse;

  constructor(ch: ClickHouse) {
    this.#ch = ch;
  }

  /** Newest sessions first. The latest summary row of each session wins (`LIMIT 1 BY` after `version DESC`). */
  async listSessions(filter: SessionFilter): Promise<SessionSummary[]> {
    const inner: Sql[] = [sql`1`];
    if (filter.from) inner.push(sql`started_at >= ${filter.from}`);
    if (filter.to) inner.push(sql`started_at < ${filter.to}`);
    const outer: Sql[] = [sql`1`];
    if (filter.identity !== undefined) {
      outer.push(sql`(identity_sub = ${filter.identity} OR identity_email = ${filter.identity})`);
    }
    if (filter.connection !== undefined) outer.push(sql`connection = ${filter.connection}`);
    const rows = await this.#ch.query<SessionRow>(sql`SELECT ${SESSION_COLUMNS}
      FROM (
        SELECT * FROM sessions WHERE ${joinSql(inner, sql` AND `)}
        ORDER BY session_id, version DESC
        LIMIT 1 BY session_id
      )
      WHERE ${joinSql(outer, sql` AND `)}
      ORDER BY started_micros DESC, session_id
      LIMIT ${filter.limit}`);
    return rows.map(toSummary);
  }

  async getSession(sessionId: string): Promise<SessionSummary | undefined> {
    const rows = await this.#ch.query<SessionRow>(
      sql`SELECT ${SESSION_COLUMNS} FROM sessions WHERE session_id = ${sessionId} ORDER BY version DESC LIMIT 1`,
    );
    return rows[0] === undefined ? undefined : toSummary(rows[0]);
  }

  timeline(filter: TimelineFilter): Promise<{ entries: TimelineEntry[]; truncated: boolean }> {
    return queryTimeline(this.#ch, filter);
  }

  /** One page of a session's events in `(seq, event_id)` order, each event once. */
  async sessionEvents(
    sessionId: string,
    after: EventCursor | undefined,
    limit: number,
  ): Promise<RecordedEvent[]> {
    const position =
      after === undefined
        ? sql`1`
        : sql`(seq > ${after.seq} OR (seq = ${after.seq} AND event_id > ${after.eventId}))`;
    const rows = await this.#ch
      .query<EventDbRow>(sql`SELECT event_id, session_id, seq, ts_micros, node_id, kind,
        protocol, connection, identity_sub, identity_email, identity_groups, is_agent, request_id, request_kind,
        decision, reasons, policy_revision, statement, approval_id, reviewer, frame, rows, code, text,
        hex(payload) AS payload_hex, event_json
      FROM events
      WHERE session_id = ${sessionId} AND ${position}
      ORDER BY seq, event_id
      LIMIT 1 BY event_id
      LIMIT ${limit}`);
    return rows.map(toRecorded);
  }
}
