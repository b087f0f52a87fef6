import { Readable } from 'node:stream';
import { createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseError } from '../errors.js';
import { ident, joinSql, sql } from './quote.js';
import type { Identifier, Sql } from './quote.js';

/**
 * The recorder's view of ClickHouse: statements are always `Sql` values built by the quoting module, so no caller
 * can pass a concatenated string. Backed by `@clickhouse/client` over HTTP, which works against 18.16 and current
 * releases (it only sends `query_id`, `database` and, when asked, `enable_http_compression`).
 */
export interface ClickHouse {
  /** Runs a statement that returns no rows (DDL, INSERT … SELECT, ALTER). */
  command(statement: Sql): Promise<void>;
  /** Runs a SELECT and returns its rows (`FORMAT JSONEachRow`: 64-bit integers arrive as strings). */
  query<T>(statement: Sql): Promise<T[]>;
  /** `INSERT INTO table (columns) VALUES row,row,…` with rows built by `valuesRow`. */
  insertValues(table: Identifier, columns: readonly string[], rows: readonly Sql[]): Promise<void>;
  /**
   * `INSERT INTO table (columns) FORMAT RowBinary` with `body` as the data (rows written by `RowBinaryWriter` in
   * `columns` order; several buffers are sent one after the other, not copied into one). The statement travels as a URL parameter, the rows as the request body.
   */
  insertRowBinary(
    table: Identifier,
    columns: readonly string[],
    body: Buffer | readonly Buffer[],
  ): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export type ClickHouseOptions = {
  url: string;
  database: string;
  username: string;
  password: string;
  requestTimeoutMs: number;
};

// Server error codes after which the same request can succeed later (overload, timeouts, network, read-only
// replicas). Everything else (syntax, types, unknown tables) needs a fix, although the recorder still retries.
const RETRIABLE_CODES = new Set([159, 160, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 425, 999]);

/**
 * A safe summary of a failed request: the server's code and the first clause of its message. ClickHouse echoes
 * query fragments (recorded data) in syntax and parse errors, so the rest of the text is dropped.
 */
export function toClickHouseError(err: unknown): ClickHouseError {
  const message = err instanceof Error ? err.message : String(err);
  const code = /\bCode: (\d+)/.exec(message)?.[1];
  if (code === undefined) {
    const sysCode = (err as { code?: unknown }).code;
    const label = typeof sysCode === 'string' ? sysCode : (err as Error).name;
    return new ClickHouseError(`ClickHouse unreachable (${label}): ${message.slice(0, 120)}`, {
      retriable: true,
    });
  }
  const after = message.slice(message.indexOf('Exception: ') + 'Exception: '.length);
  const exception =
    after
      .split(/: |, e\.what\(\)|\n| \(/)[0]!
      .slice(0, 160)
      .trim() || 'error';
  const serverCode = Number(code);
  return new ClickHouseError(`ClickHouse error ${serverCode}: ${exception}`, {
    serverCode,
    retriable: RETRIABLE_CODES.has(serverCode),
  });
}

class HttpClickHouse implements ClickHouse {
  readonly #client: ClickHouseClient;

  constructor(client: ClickHouseClient) {
    this.#client = client;
  }

  async command(statement: Sql): Promise<void> {
    try {
      await this.#client.command({ query: statement.text });
    } catch (err) {
      throw toClickHouseError(err);
    }
  }

  async query<T>(statement: Sql): Promise<T[]> {
    try {
      const result = await this.#client.query({ query: statement.text, format: 'JSONEachRow' });
      return await result.json<T>();
    } catch (err) {
      throw toClickHouseError(err);
    }
  }

  async insertValues(table: Identifier, columns: readonly string[], rows: readonly Sql[]): Promise<void> {
    if (rows.length === 0) return;
    const cols = joinSql(
      columns.map((c) => sql`${ident(c)}`),
      sql`,`,
    );
    await this.command(joinSql([sql`INSERT INTO ${table} (${cols}) VALUES `, joinSql(rows, sql`,`)], sql``));
  }

  async insertRowBinary(
    table: Identifier,
    columns: readonly string[],
    body: Buffer | readonly Buffer[],
  ): Promise<void> {
    const parts = Buffer.isBuffer(body) ? [body] : body;
    if (parts.every((p) => p.length === 0)) return;
    const cols = joinSql(
      columns.map((c) => sql`${ident(c)}`),
      sql`,`,
    );
    const statement = sql`INSERT INTO ${table} (${cols}) FORMAT RowBinary`;
    try {
      const result = await this.#client.exec({ query: statement.text, values: Readable.from(parts) });
      result.stream.resume(); // an INSERT answers with an empty body; reading it frees the socket
      await new Promise<void>((resolve, reject) => {
        result.stream.once('end', resolve);
        result.stream.once('error', reject);
      });
    } catch (err) {
      throw toClickHouseError(err);
    }
  }

  async ping(): Promise<boolean> {
    try {
      const result = await this.#client.ping();
      return result.success;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

function rawClient(opts: ClickHouseOptions, database: string): ClickHouseClient {
  return createClient({
    url: opts.url,
    database,
    username: opts.username,
    password: opts.password,
    request_timeout: opts.requestTimeoutMs,
    application: 'gatehouse-recorder',
    // Errors are turned into ClickHouseError and logged by the recorder; the client's own console logging is off.
    log: { level: 127 },
    // Below the server's keep-alive timeout (3 s by default), so an idle socket is never reused after the server
    // closed it.
    keep_alive: { enabled: true, idle_socket_ttl: 1500 },
  });
}

/** A client bound to `opts.database`. */
export function connectClickHouse(opts: ClickHouseOptions): ClickHouse {
  return new HttpClickHouse(rawClient(opts, opts.database));
}

/** Creates the database if it is missing (through a connection to `default`, since the target may not exist). */
export async function ensureDatabase(opts: ClickHouseOptions): Promise<void> {
  const ch = new HttpClickHouse(rawClient(opts, 'default'));
  try {
    await ch.command(sql`CREATE DATABASE IF NOT EXISTS ${ident(opts.database)}`);
  } finally {
    await ch.close();
  }
}

/** Drops the database (tests only). */
export async function dropDatabase(opts: ClickHouseOptions): Promise<void> {
  const ch = new HttpClickHouse(rawClient(opts, 'default'));
  try {
    await ch.command(sql`DROP DATABASE IF EXISTS ${ident(opts.database)}`);
  } finally {
    await ch.close();
  }
}
