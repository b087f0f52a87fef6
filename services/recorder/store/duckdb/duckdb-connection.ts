import { blobValue, DuckDBInstance, LIST, listValue, timestampValue, VARCHAR } from '@duckdb/node-api';
import type { DuckDBAppender, DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { ClickHouseError } from '../../errors.js';
import type { Column, ColumnKind, Table } from './duckdb-schema.js';

const STRINGS = LIST(VARCHAR);

/** The parameters of one statement: `p.add(value)` records the value and returns its placeholder (`$n`). */
export class Params {
  readonly values: DuckDBValue[] = [];
  readonly types: (DuckDBType | undefined)[] = [];

  add(value: string | number | bigint | boolean | Uint8Array | readonly string[], kind?: ColumnKind): string {
    if (value instanceof Uint8Array) this.push(blobValue(value));
    else if (Array.isArray(value)) this.push(listValue(value as readonly string[]), STRINGS);
    else if (typeof value === 'boolean') this.push(value ? 1 : 0);
    else this.push(value as string | number | bigint);
    const ref = `$${this.values.length}`; // numbered, so text order need not follow the order of add() calls
    return kind === 'datetime' ? `make_timestamp(${ref}::BIGINT * 1000000)` : ref;
  }

  /** `(?, ?, …)` for a list of values of one type. */
  list(values: readonly (string | number)[]): string {
    return `(${values.map((v) => this.add(v)).join(', ')})`;
  }

  private push(value: DuckDBValue, type?: DuckDBType): void {
    this.values.push(value);
    this.types.push(type);
  }
}

/**
 * One DuckDB database file with one connection; statements run one at a time (DuckDB serialises writers anyway),
 * and failures surface as the recorder's store error (retried by the batcher like a ClickHouse failure).
 */
export class DuckDb {
  readonly #instance: DuckDBInstance;
  readonly #conn: DuckDBConnection;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(instance: DuckDBInstance, conn: DuckDBConnection) {
    this.#instance = instance;
    this.#conn = conn;
  }

  static async open(path: string): Promise<DuckDb> {
    const instance = await DuckDBInstance.create(path);
    return new DuckDb(instance, await instance.connect());
  }

  run(sql: string, params?: Params): Promise<void> {
    return this.#serial(async () => {
      await this.#conn.run(sql, params?.values, params?.types as DuckDBType[] | undefined);
    });
  }

  /** Rows as JSON-safe objects (64-bit integers as strings, lists as arrays), as ClickHouse's JSONEachRow gives. */
  query<T>(sql: string, params?: Params): Promise<T[]> {
    return this.#serial(async () => {
      const reader = await this.#conn.runAndReadAll(
        sql,
        params?.values,
        params?.types as DuckDBType[] | undefined,
      );
      return reader.getRowObjectsJson() as unknown as T[];
    });
  }

  /**
   * Appends rows (values in `columns` order) through DuckDB's appender, far faster than INSERT with bound values.
   * Columns of the table that `columns` leaves out get their zero value, or now for a timestamp (the `DEFAULT now()`
   * columns).
   */
  append(table: Table, columns: readonly string[], rows: readonly (readonly AppendValue[])[]): Promise<void> {
    return this.#serial(async () => {
      const at = new Map(columns.map((c, i) => [c, i]));
      const now = timestampValue(BigInt(Date.now()) * 1000n);
      const appender = await this.#conn.createAppender(table.name);
      try {
        for (const row of rows) {
          for (const col of table.columns) {
            const i = at.get(col.name);
            appendOne(appender, col, i === undefined ? undefined : row[i], now);
          }
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
    });
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task).catch((err: unknown) => {
      throw new ClickHouseError(
        `embedded store (DuckDB): ${(err as Error).message.split('\n')[0]!.slice(0, 160)}`,
        {
          retriable: true,
          cause: err,
        },
      );
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    return this.#serial(() => {
      this.#conn.closeSync();
      this.#instance.closeSync();
      return Promise.resolve();
    });
  }
}

export type AppendValue = string | number | bigint | boolean | Uint8Array | readonly string[];

function appendOne(a: DuckDBAppender, col: Column, v: AppendValue | undefined, now: DuckDBValue): void {
  const n = (): number => (typeof v === 'boolean' ? (v ? 1 : 0) : Number(v ?? 0));
  switch (col.duckType) {
    case 'VARCHAR':
      return a.appendVarchar(typeof v === 'string' ? v : String(v ?? ''));
    case 'BLOB':
      return a.appendBlob(v instanceof Uint8Array ? v : new Uint8Array(0));
    case 'VARCHAR[]':
      return a.appendList(listValue(Array.isArray(v) ? (v as readonly string[]) : []), STRINGS);
    case 'TIMESTAMP':
      return a.appendValue(v === undefined ? now : timestampValue(BigInt(n()) * 1_000_000n));
    case 'UTINYINT':
      return a.appendUTinyInt(n());
    case 'USMALLINT':
      return a.appendUSmallInt(n());
    case 'UINTEGER':
      return a.appendUInteger(n());
    case 'UBIGINT':
      return a.appendUBigInt(typeof v === 'bigint' ? v : BigInt(n()));
    case 'TINYINT':
      return a.appendTinyInt(n());
    case 'SMALLINT':
      return a.appendSmallInt(n());
    case 'INTEGER':
      return a.appendInteger(n());
    case 'BIGINT':
      return a.appendBigInt(typeof v === 'bigint' ? v : BigInt(n()));
    default:
      throw new Error(`no appender for ${col.duckType} (column ${col.name})`);
  }
}
