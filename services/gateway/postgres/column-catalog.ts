import pg from 'pg';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import type { ColumnCatalog, ColumnOrigin } from '../masking/index.js';
import type { CatalogRelation, LineageCatalog } from '../sql/lineage/index.js';
import type { UpstreamTarget } from './upstream.js';

const QUERY = `
  SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS table, a.attnum::int4 AS attnum, a.attname AS column
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  ORDER BY c.oid, a.attnum`;

/** Definitions of user views and materialized views (system views count as base relations). */
const VIEWS = `
  SELECT c.oid::int8 AS oid, pg_catalog.pg_get_viewdef(c.oid) AS definition
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`;

const FUNCTIONS = `
  SELECT DISTINCT p.proname AS name FROM pg_catalog.pg_proc p
  WHERE p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace`;

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

/**
 * The upstream's relations, columns, view definitions and built-in function names, loaded with the gateway's own
 * credentials: by (table OID, attribute number) for RowDescription fields, and by name for column lineage
 * (`LineageCatalog`). A lookup of an unknown table schedules a refresh (at most one per `minRefreshMs`, default 1 s) and answers
 * nothing meanwhile — lineage then treats the relation as opaque (masked), the row masker falls back to names.
 */
export class ColumnCatalogCache implements LineageCatalog {
  #columns = new Map<string, ColumnOrigin>();
  #tables = new Set<number>();
  #relations = new Map<string, CatalogRelation>();
  #byName = new Map<string, CatalogRelation[]>();
  #functions = new Set<string>();
  #version = 0;
  #refreshing: Promise<void> | undefined;
  #lastRefresh = 0;
  readonly #target: UpstreamTarget;
  readonly #password: () => string;
  readonly #log: Logger;
  readonly #minRefreshMs: number;

  constructor(target: UpstreamTarget, password: () => string, log: Logger, minRefreshMs = 1_000) {
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

  get version(): number {
    return this.#version;
  }

  relations(schema: string | null, name: string): readonly CatalogRelation[] {
    if (schema !== null) {
      const hit = this.#relations.get(`${schema}.${name}`);
      if (hit === undefined) void this.refresh();
      return hit ? [hit] : [];
    }
    const system = this.#relations.get(`pg_catalog.${name}`);
    if (system !== undefined) return [system];
    const found = this.#byName.get(name) ?? [];
    if (found.length === 0) void this.refresh();
    return found;
  }

  isBuiltinFunction(name: string): boolean {
    return this.#functions.has(name);
  }

  refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    if (Date.now() - this.#lastRefresh < this.#minRefreshMs) return Promise.resolve();
    this.#lastRefresh = Date.now();
    this.#refreshing = this.#load()
      .catch((err: unknown) => {
        logError(this.#log, err, 'column catalog refresh failed', {
          level: 'warn',
          connection: this.#target.connection,
        });
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
      const views = await client.query<{ oid: string; definition: string | null }>(VIEWS);
      const functions = await client.query<{ name: string }>(FUNCTIONS);
      const definitions = new Map(views.rows.map((v) => [v.oid, v.definition]));
      const columns = new Map<string, ColumnOrigin>();
      const tables = new Set<number>();
      const relations = new Map<string, { schema: string; name: string; columns: string[]; oid: string }>();
      for (const r of rows) {
        columns.set(`${r.oid}:${r.attnum}`, { schema: r.schema, table: r.table, column: r.column });
        tables.add(Number(r.oid));
        const key = `${r.schema}.${r.table}`.toLowerCase();
        let rel = relations.get(key);
        if (rel === undefined) {
          rel = { schema: r.schema.toLowerCase(), name: r.table.toLowerCase(), columns: [], oid: r.oid };
          relations.set(key, rel);
        }
        rel.columns.push(r.column.toLowerCase());
      }
      const frozen = new Map<string, CatalogRelation>();
      const byName = new Map<string, CatalogRelation[]>();
      for (const [key, r] of relations) {
        const definition = definitions.get(r.oid);
        const rel: CatalogRelation = Object.freeze({
          schema: r.schema,
          name: r.name,
          columns: Object.freeze(r.columns),
          // A view whose definition cannot be read keeps an unparsable one: opaque, never a base table.
          ...(definitions.has(r.oid) && { viewDefinition: definition ?? '' }),
        });
        frozen.set(key, rel);
        if (!SYSTEM_SCHEMAS.has(r.schema)) byName.set(r.name, [...(byName.get(r.name) ?? []), rel]);
      }
      this.#columns = columns;
      this.#tables = tables;
      this.#relations = frozen;
      this.#byName = byName;
      this.#functions = new Set(functions.rows.map((f) => f.name.toLowerCase()));
      this.#version++;
    } finally {
      await client.end();
    }
  }
}
