import { MigrationError } from '../../errors.js';
import type { Migration } from '../../clickhouse/migrations.js';

/** How a column's values are bound and read back. */
export type ColumnKind = 'string' | 'bytes' | 'integer' | 'datetime' | 'strings';

export type Column = { name: string; kind: ColumnKind; duckType: string; hasDefault: boolean };

export type Table = {
  name: string;
  columns: Column[];
  /** The column whose day is the table's retention unit (ClickHouse `PARTITION BY toYYYYMMDD(col)`). */
  dayColumn: string | undefined;
};

/**
 * ClickHouse `String` columns that hold bytes rather than text (DuckDB's VARCHAR must be UTF-8, so they become
 * BLOB). Every other fact of the schema comes from the migrations themselves.
 */
const BYTE_COLUMNS = new Set(['payload', 'record_key', 'record_value']);

const INTEGER_TYPES: Record<string, string> = {
  UInt8: 'UTINYINT',
  UInt16: 'USMALLINT',
  UInt32: 'UINTEGER',
  UInt64: 'UBIGINT',
  Int8: 'TINYINT',
  Int16: 'SMALLINT',
  Int32: 'INTEGER',
  Int64: 'BIGINT',
};

function columnOf(def: string, where: string): { column: Column; defaultSql: string | undefined } {
  const m =
    /^`?([A-Za-z_][A-Za-z0-9_]*)`?\s+([A-Za-z0-9()]+)(?:\s+DEFAULT\s+(.+?))?(?:\s+AFTER\s+\S+)?$/.exec(
      def.trim(),
    );
  if (!m) throw new MigrationError(`embedded store: cannot read column "${def.trim()}" (${where})`);
  const [, name, chType, chDefault] = m as unknown as [string, string, string, string | undefined];
  let kind: ColumnKind;
  let duckType: string;
  if (chType === 'String' || chType === 'LowCardinality(String)') {
    kind = BYTE_COLUMNS.has(name) ? 'bytes' : 'string';
    duckType = kind === 'bytes' ? 'BLOB' : 'VARCHAR';
  } else if (chType === 'Array(String)') {
    kind = 'strings';
    duckType = 'VARCHAR[]';
  } else if (chType === 'DateTime') {
    kind = 'datetime';
    duckType = 'TIMESTAMP';
  } else if (INTEGER_TYPES[chType]) {
    kind = 'integer';
    duckType = INTEGER_TYPES[chType];
  } else {
    throw new MigrationError(`embedded store: no DuckDB type for ${chType} (column ${name}, ${where})`);
  }
  let defaultSql: string | undefined;
  if (chDefault !== undefined) {
    if (chDefault.trim() === 'now()') defaultSql = 'current_timestamp';
    else if (/^(?:\d+|'[^'\\]*')$/.test(chDefault.trim())) defaultSql = chDefault.trim();
    else throw new MigrationError(`embedded store: cannot translate DEFAULT ${chDefault} (${where})`);
  }
  return { column: { name, kind, duckType, hasDefault: defaultSql !== undefined }, defaultSql };
}

const columnSql = (c: Column, defaultSql: string | undefined): string =>
  `${c.name} ${c.duckType}${defaultSql === undefined ? '' : ` DEFAULT ${defaultSql}`}`;

/**
 * Translates the ClickHouse migrations (deploy/clickhouse/migrations) into DuckDB DDL, so the embedded store has
 * the same tables and columns without a second hand-kept copy. Understood: `CREATE TABLE [IF NOT EXISTS]` with
 * the types the schema uses, and `ALTER TABLE … ADD COLUMN`; `CREATE MATERIALIZED VIEW` is skipped (its target
 * table stays empty); anything else is refused loudly. ClickHouse's
 * engines have no DuckDB counterpart and are dropped: like ReplacingMergeTree before a merge, the tables may hold
 * redelivered duplicates, and the queries de-duplicate. Pure.
 */
export function translateMigrations(migrations: readonly Migration[]): {
  tables: Map<string, Table>;
  ddl: string[];
} {
  const tables = new Map<string, Table>();
  const ddl: string[] = [];
  for (const m of migrations) {
    for (const statement of m.statements) {
      const text = statement.text.trim();
      const where = `migration ${m.version}`;
      const create =
        /^CREATE TABLE (?:IF NOT EXISTS )?`?(\w+)`?\s*\(([\s\S]*)\)\s*ENGINE\s*=([\s\S]*)$/i.exec(text);
      const alter = /^ALTER TABLE `?(\w+)`?\s+([\s\S]*)$/i.exec(text);
      if (/^CREATE MATERIALIZED VIEW /i.test(text)) {
        // ClickHouse-side derivations (the policy-input tables `gatehouse policy backtest` reads): their target
        // tables exist here too, but stay empty; the policy CLI reads ClickHouse.
        continue;
      }
      if (create) {
        const [, name, body, engine] = create as unknown as [string, string, string, string];
        const defs = body.split(/,\s*\n/).filter((d) => d.trim() !== '');
        const parsed = defs.map((d) => columnOf(d, where));
        const dayColumn = /PARTITION BY toYYYYMMDD\((\w+)\)/.exec(engine)?.[1];
        tables.set(name, { name, columns: parsed.map((p) => p.column), dayColumn });
        ddl.push(
          `CREATE TABLE IF NOT EXISTS ${name} (\n  ${parsed.map((p) => columnSql(p.column, p.defaultSql)).join(',\n  ')}\n)`,
        );
      } else if (alter && tables.has(alter[1]!)) {
        const table = tables.get(alter[1]!)!;
        for (const clause of alter[2]!.split(/,\s*(?=ADD COLUMN)/i)) {
          const add = /^ADD COLUMN (?:IF NOT EXISTS )?([\s\S]+)$/i.exec(clause.trim());
          if (!add)
            throw new MigrationError(
              `embedded store: cannot translate "${clause.trim().slice(0, 80)}" (${where})`,
            );
          const { column, defaultSql } = columnOf(add[1]!, where);
          if (!table.columns.some((c) => c.name === column.name)) table.columns.push(column);
          ddl.push(`ALTER TABLE ${table.name} ADD COLUMN IF NOT EXISTS ${columnSql(column, defaultSql)}`);
        }
      } else {
        throw new MigrationError(`embedded store: cannot translate "${text.slice(0, 80)}" (${where})`);
      }
    }
  }
  return { tables, ddl };
}
