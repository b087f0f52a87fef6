import pg from 'pg';
import type { Logger } from '../../shared/logger.js';
import type { ColumnCatalog, ColumnOrigin } from '../masking/index.js';
import type { UpstreamTarget } from './upstream.js';

const QUERY = `
  SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS table, a.attnum::int4 AS attnum, a.attname AS column
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')`;

/**
 * The upstream's table/column names by (table OID, attribute number), so masking follows a column through
 * aliases. Loaded with the gateway's own credentials; a lookup of an unknown table schedules a refresh (at most
 * one per `minRefreshMs`) and answers `undefined` meanwhile — the masker then falls back to name matching.
 */
export class ColumnCatalogCache {
  #columns = new Map<string, ColumnOrigin>();
  #tables = new Set<number>();
  #refreshing: Promise<void> | undefined;
  #lastRefresh = 0;
  readonly #target: UpstreamTarget;
  readonly #password: () => string;
  readonly #log: Logger;
  readonly #minRefreshMs: number;

  constructor(target: UpstreamTarget, password: () => string, log: Logger, minRefreshMs = 5_000) {
    this.#target = target;
    this.#password = password;
    this.#log = log;
    this.#minRefreshMs = minRefreshMs;
  }

  readonly lookup: ColumnCatalog = (tableOid, attnum) => {
    const hit = this.#columns.get(`${tableOid}:${attnum}`);
    if (!hit && !this.#tables.has(tableOid)) void this.refresh();
    return hit;
  };

  refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    if (Date.now() - this.#lastRefresh < this.#minRefreshMs) return Promise.resolve();
    this.#lastRefresh = Date.now();
    this.#refreshing = this.#load()
      .catch((err: unknown) => {
        this.#log.warn(
          { connection: this.#target.connection, err: (err as Error).message },
          'column catalog refresh failed',
        );
      })
      .finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #load(): Promise<void> {
    const client = new pg.Client({
      host: this.#target.host,
      port: this.#target.port,
      database: this.#target.database,
      user: this.#target.user,
      password: this.#password(),
      connectionTimeoutMillis: this.#target.connectTimeoutMs,
      application_name: 'gatehouse-catalog',
    });
    await client.connect();
    try {
      const { rows } = await client.query<{
        oid: string;
        schema: string;
        table: string;
        attnum: number;
        column: string;
      }>(QUERY);
      const columns = new Map<string, ColumnOrigin>();
      const tables = new Set<number>();
      for (const r of rows) {
        columns.set(`${r.oid}:${r.attnum}`, { schema: r.schema, table: r.table, column: r.column });
        tables.add(Number(r.oid));
      }
      this.#columns = columns;
      this.#tables = tables;
    } finally {
      await client.end();
    }
  }
}
