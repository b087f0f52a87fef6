import type { ClickHouse } from '../clickhouse/client.js';
import { ident, inList, joinSql, sql, valuesRow } from '../clickhouse/quote.js';
import type { Sql } from '../clickhouse/quote.js';
import { RowBinaryWriter } from '../clickhouse/row-binary.js';
import { EVENT_COLUMNS, requestKey, writeEventRow } from './event-row.js';
import type { EventRow } from './event-row.js';
import {
  foldSession,
  rowsBySession,
  SESSION_COLUMNS,
  storedSummary,
  writeSessionRow,
} from './session-fold.js';
import type { FoldedRow, SessionSummary, StoredSessionRow } from './session-fold.js';

/** A Kafka record that could not be decoded, kept byte for byte. */
export type DeadLetter = {
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp, milliseconds since the epoch (string, as kafkajs reports it). */
  timestamp: string;
  key: Uint8Array | null;
  value: Uint8Array;
  errorCode: string;
  error: string;
};

/** The `dead_letters` columns the recorder writes, in `deadLetterValues` order. */
export const DEAD_LETTER_COLUMNS = [
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
  'kafka_ts',
  'record_key',
  'record_value',
  'value_bytes',
  'error_code',
  'error',
] as const;

/** A dead letter's values in `DEAD_LETTER_COLUMNS` order. */
export function deadLetterValues(
  d: DeadLetter,
): [string, number, bigint, number, Uint8Array, Uint8Array, number, string, string] {
  return [
    d.topic,
    d.partition,
    BigInt(d.offset),
    Math.max(0, Math.floor(Number(d.timestamp) / 1000) || 0),
    d.key ?? new Uint8Array(0),
    d.value,
    d.value.length,
    d.errorCode,
    d.error,
  ];
}

/** Sessions recomputed per INSERT … SELECT (keeps the statement well under ClickHouse's 256 KiB query limit). */
const SESSIONS_PER_REFRESH = 500;
/** Requests looked up per statement query. */
const KEYS_PER_LOOKUP = 500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Session summaries kept in memory between writes (the sessions this recorder is writing; oldest evicted). */
const SUMMARIES_KEPT = 10_000;

/**
 * The `sessions` rows of these sessions recomputed from all their de-duplicated events (`INSERT INTO sessions` +
 * this): what `refreshSessions` writes, and the definition `foldSessions` is tested against.
 */
export function recomputeSessionsSql(sessionIds: readonly string[]): Sql {
  // The inner query de-duplicates events (redelivery); the outer one folds them. Counts use uniqExact over ids,
  // sums run over distinct events only, so recomputing a session any number of times gives the same row.
  return sql`SELECT
    session_id,
    min(ts),
    min(ts_micros),
    maxIf(ts, kind IN ('session_closed', 'login_refused')),
    maxIf(ts_micros, kind IN ('session_closed', 'login_refused')),
    max(kind IN ('session_closed', 'login_refused')),
    max(ts),
    argMaxIf(identity_sub, seq, identity_sub != '' OR identity_email != ''),
    argMaxIf(identity_email, seq, identity_sub != '' OR identity_email != ''),
    argMaxIf(identity_groups, seq, identity_sub != '' OR identity_email != ''),
    argMaxIf(is_agent, seq, identity_sub != '' OR identity_email != ''),
    argMaxIf(connection, seq, connection != ''),
    argMaxIf(protocol, seq, protocol != ''),
    argMin(node_id, seq),
    anyIf(text, kind IN ('session_opened', 'login_refused')),
    uniqExactIf(request_id, kind = 'request'),
    uniqExactIf(request_id, kind = 'decision' AND decision = 'allow'),
    uniqExactIf(request_id, kind = 'decision' AND decision = 'deny'),
    uniqExactIf(approval_id, kind = 'approval_requested'),
    sumIf(toUInt64(rows), kind = 'response'),
    sumIf(toUInt64(payload_bytes), kind = 'response' OR (kind = 'continuation' AND frame = 'data')),
    count(),
    max(seq),
    if(countIf(kind = 'login_refused') > 0, concat('login refused: ', anyIf(code, kind = 'login_refused')),
      anyIf(text, kind = 'session_closed')),
    count()
  FROM
  (
    SELECT session_id, event_id, seq, ts, ts_micros, kind, identity_sub, identity_email, identity_groups, is_agent,
      connection, protocol, node_id, text, code, request_id, decision, approval_id, rows, payload_bytes, frame
    FROM events
    WHERE session_id IN ${inList(sessionIds)}
    LIMIT 1 BY event_id
  )
  GROUP BY session_id`;
}

function refreshStatement(sessionIds: readonly string[]): Sql {
  return sql`INSERT INTO sessions (session_id, started_at, started_micros, ended_at, ended_micros, closed,
    last_event_at, identity_sub, identity_email, identity_groups, is_agent, connection, protocol, node_id,
    client_addr, requests, allowed, denied, approvals, rows_returned, bytes, events, last_seq, close_reason, version)
  ${recomputeSessionsSql(sessionIds)}`;
}

/** Event rows in `RowBinary` (`EVENT_COLUMNS`), and how many. */
export type EncodedEvents = { body: Buffer; rows: number };

/** The write side of the recording store. All SQL goes through the quoting module. */
export class EventWriter {
  readonly #ch: ClickHouse;
  readonly #summaries = new Map<string, SessionSummary>();
  #generation = 0;

  constructor(ch: ClickHouse) {
    this.#ch = ch;
  }

  /** Inserts rows in chunks of at most `maxRows`, each one `RowBinary` INSERT. */
  async insertEvents(rows: readonly EventRow[], maxRows: number): Promise<void> {
    await this.insertEncoded(this.encodeEvents(rows, maxRows), maxRows);
  }

  /**
   * Encodes rows as `RowBinary`, in chunks of at most `maxRows` rows (see `insertEncoded`), taking one row at a time
   * (each can be collected once written).
   */
  encodeEvents(rows: Iterable<EventRow>, maxRows: number): EncodedEvents[] {
    const out: EncodedEvents[] = [];
    let w = new RowBinaryWriter();
    let n = 0;
    for (const r of rows) {
      writeEventRow(w, r);
      if (++n >= maxRows) {
        out.push({ body: w.finish(), rows: n });
        w = new RowBinaryWriter();
        n = 0;
      }
    }
    if (n > 0) out.push({ body: w.finish(), rows: n });
    return out;
  }

  /** Inserts encoded rows: consecutive chunks together, at most `maxRows` rows per INSERT. */
  async insertEncoded(batches: readonly EncodedEvents[], maxRows: number): Promise<void> {
    let bodies: Buffer[] = [];
    let rows = 0;
    for (const b of batches) {
      if (rows > 0 && rows + b.rows > maxRows) {
        await this.#ch.insertRowBinary(ident('events'), EVENT_COLUMNS, bodies);
        bodies = [];
        rows = 0;
      }
      bodies.push(b.body);
      rows += b.rows;
    }
    if (rows > 0) await this.#ch.insertRowBinary(ident('events'), EVENT_COLUMNS, bodies);
  }

  readonly encoded = {
    encode: (rows: Iterable<EventRow>, maxRows: number) => this.encodeEvents(rows, maxRows),
    insert: (batches: readonly EncodedEvents[], maxRows: number) => this.insertEncoded(batches, maxRows),
  };

  async insertDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.#ch.insertValues(
      ident('dead_letters'),
      DEAD_LETTER_COLUMNS,
      letters.map((d) => valuesRow(deadLetterValues(d))),
    );
  }

  /** Recomputes the summary rows of these sessions from their (de-duplicated) events. */
  async refreshSessions(sessionIds: readonly string[]): Promise<void> {
    for (const ids of chunks([...new Set(sessionIds)], SESSIONS_PER_REFRESH)) {
      await this.#ch.command(refreshStatement(ids));
    }
  }

  /**
   * Brings the summary rows of the sessions in `rows` (just inserted) up to date by folding the new events into
   * each session's previous row (`foldSession`): kept in memory from the last write, else read back from
   * `sessions` (not needed when the rows start at seq 1). Reads no events, so a write costs the same however long
   * its sessions are. The kept rows are updated only after the insert succeeded, so a failed write is folded again
   * from the same rows.
   */
  async foldSessions(rows: readonly FoldedRow[]): Promise<void> {
    const generation = this.#generation;
    const bySession = rowsBySession(rows);
    if (bySession.size === 0) return;
    const missing: string[] = [];
    for (const [id, list] of bySession) {
      if (!this.#summaries.has(id) && list[0]!.seq !== 1n) missing.push(id);
    }
    const loaded = await this.#loadSummaries(missing);
    const folded: SessionSummary[] = [];
    for (const [id, list] of bySession) {
      const previous = this.#summaries.get(id) ?? loaded.get(id);
      const next = foldSession(previous, list);
      if (next !== undefined) folded.push(next);
      else if (previous !== undefined) loaded.set(id, previous);
    }
    if (folded.length > 0) {
      const out = new RowBinaryWriter(folded.length * 256);
      for (const s of folded) writeSessionRow(out, s);
      await this.#ch.insertRowBinary(ident('sessions'), SESSION_COLUMNS, out.finish());
    }
    if (generation !== this.#generation) return; // forgotten meanwhile (rebalance): keep nothing of this write
    for (const s of loaded.values()) this.#keep(s);
    for (const s of folded) this.#keep(s);
  }

  /**
   * Forgets the summaries kept in memory: after a rebalance another recorder may have written the sessions of
   * partitions this one gets back, so their rows are read again.
   */
  forgetSessions(): void {
    this.#summaries.clear();
    this.#generation++;
  }

  #keep(s: SessionSummary): void {
    this.#summaries.delete(s.session_id);
    this.#summaries.set(s.session_id, s);
    if (this.#summaries.size > SUMMARIES_KEPT) {
      this.#summaries.delete(this.#summaries.keys().next().value as string);
    }
  }

  async #loadSummaries(ids: readonly string[]): Promise<Map<string, SessionSummary>> {
    const found = new Map<string, SessionSummary>();
    const cols = joinSql(
      SESSION_COLUMNS.map((c) => sql`${ident(c)}`),
      sql`, `,
    );
    for (const chunk of chunks(ids, SESSIONS_PER_REFRESH)) {
      const stored = await this.#ch.query<StoredSessionRow>(
        sql`SELECT ${cols} FROM sessions FINAL WHERE session_id IN ${inList(chunk)}`,
      );
      for (const r of stored) {
        const s = storedSummary(r);
        const other = found.get(s.session_id);
        if (other === undefined || s.version > other.version) found.set(s.session_id, s);
      }
    }
    return found;
  }

  /** Request texts of earlier requests (for decisions whose request was recorded in an earlier batch). */
  async lookupStatements(
    keys: readonly { sessionId: string; requestId: number }[],
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const chunk of chunks(keys, KEYS_PER_LOOKUP)) {
      const tuples = joinSql(
        chunk.map((k) => sql`(${k.sessionId}, ${k.requestId})`),
        sql`, `,
      );
      const rows = await this.#ch.query<{ session_id: string; request_id: number; statement: string }>(
        sql`SELECT session_id, request_id, any(statement) AS statement FROM events
            WHERE kind = 'request' AND session_id IN ${inList(chunk.map((k) => k.sessionId))}
              AND (session_id, request_id) IN (${tuples})
            GROUP BY session_id, request_id`,
      );
      for (const r of rows) found.set(requestKey(r.session_id, Number(r.request_id)), r.statement);
    }
    return found;
  }
}
