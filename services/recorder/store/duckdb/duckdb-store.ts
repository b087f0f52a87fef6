import type { Logger } from '../../../shared/logger.js';
import type { Migration } from '../../clickhouse/migrations.js';
import type { DeadLetter } from '../event-writer.js';
import { DEAD_LETTER_COLUMNS, deadLetterValues } from '../event-writer.js';
import { EVENT_COLUMNS, requestKey } from '../event-row.js';
import type { EventRow } from '../event-row.js';
import type { EventStoreWriter, RecordingStore } from '../recording-store.js';
import type { DroppedPartition } from '../retention.js';
import { DuckDb, Params } from './duckdb-connection.js';
import type { AppendValue } from './duckdb-connection.js';
import { DuckDbQueries, refreshSessionsSql } from './duckdb-queries.js';
import { translateMigrations } from './duckdb-schema.js';
import type { Table } from './duckdb-schema.js';

/** Rows per appender flush. */
const ROWS_PER_INSERT = 5_000;
const SESSIONS_PER_REFRESH = 500;
const KEYS_PER_LOOKUP = 500;

type Value = AppendValue;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The recording store of the one-process mode: a DuckDB file with the tables of the ClickHouse migrations
 * (translated, not copied), written with the same column lists as the ClickHouse writer and read with the same
 * answers as `SessionQueries`. DuckDB ships its binary inside its npm package.
 */
export class DuckDbStore implements RecordingStore, EventStoreWriter {
  readonly kind = 'duckdb' as const;
  readonly writer: EventStoreWriter = this;
  readonly queries: DuckDbQueries;
  readonly #db: DuckDb;
  readonly #tables: Map<string, Table>;

  private constructor(db: DuckDb, tables: Map<string, Table>) {
    this.#db = db;
    this.#tables = tables;
    this.queries = new DuckDbQueries(db);
  }

  /** Opens (creating) the database file and applies the translated migrations (idempotent). */
  static async open(path: string, migrations: readonly Migration[]): Promise<DuckDbStore> {
    const { tables, ddl } = translateMigrations(migrations);
    const db = await DuckDb.open(path);
    for (const statement of ddl) await db.run(statement);
    return new DuckDbStore(db, tables);
  }

  async #insert(tableName: string, columns: readonly string[], rows: readonly Value[][]): Promise<void> {
    const table = this.#tables.get(tableName);
    if (!table) throw new Error(`no table ${tableName} in the migrations`);
    for (const chunk of chunks(rows, ROWS_PER_INSERT)) await this.#db.append(table, columns, chunk);
  }

  async insertEvents(rows: readonly EventRow[], maxRows: number): Promise<void> {
    for (const chunk of chunks(rows, Math.max(1, maxRows))) {
      await this.#insert(
        'events',
        EVENT_COLUMNS,
        chunk.map((r) => EVENT_COLUMNS.map((c) => r[c])),
      );
    }
  }

  async insertDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.#insert('dead_letters', DEAD_LETTER_COLUMNS, letters.map(deadLetterValues));
  }

  async refreshSessions(sessionIds: readonly string[]): Promise<void> {
    for (const ids of chunks([...new Set(sessionIds)], SESSIONS_PER_REFRESH)) {
      const p = new Params();
      await this.#db.run(refreshSessionsSql(p.list(ids)), p);
    }
  }

  async lookupStatements(
    keys: readonly { sessionId: string; requestId: number }[],
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const chunk of chunks(keys, KEYS_PER_LOOKUP)) {
      const p = new Params();
      const match = chunk.map(
        (k) => `(session_id = ${p.add(k.sessionId)} AND request_id = ${p.add(k.requestId)})`,
      );
      const rows = await this.#db.query<{ session_id: string; request_id: number; statement: string }>(
        `SELECT session_id, request_id, any_value(statement) AS statement FROM events
         WHERE kind = 'request' AND (${match.join(' OR ')}) GROUP BY session_id, request_id`,
        p,
      );
      for (const r of rows) found.set(requestKey(r.session_id, Number(r.request_id)), r.statement);
    }
    return found;
  }

  async ping(): Promise<boolean> {
    try {
      await this.#db.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /** Deletes whole days older than `retentionDays` (today counts as day 0), as ClickHouse drops daily partitions. */
  async dropExpired(retentionDays: number, log: Logger): Promise<DroppedPartition[]> {
    if (retentionDays <= 0) return [];
    const dropped: DroppedPartition[] = [];
    for (const table of this.#tables.values()) {
      const col = table.dayColumn;
      if (col === undefined) continue;
      const p = new Params();
      const before = `current_date - ${p.add(retentionDays)}::INTEGER`;
      const days = await this.#db.query<{ day: number }>(
        `SELECT DISTINCT CAST(strftime(${col}, '%Y%m%d') AS INTEGER) AS day FROM ${table.name}
         WHERE CAST(${col} AS DATE) < ${before} ORDER BY day`,
        p,
      );
      if (days.length === 0) continue;
      const q = new Params();
      await this.#db.run(
        `DELETE FROM ${table.name} WHERE CAST(${col} AS DATE) < current_date - ${q.add(retentionDays)}::INTEGER`,
        q,
      );
      for (const d of days) {
        log.info({ table: table.name, partition: d.day }, 'retention: deleted a day of recordings');
        dropped.push({ table: table.name, partition: d.day });
      }
    }
    return dropped;
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
