import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../shared/logger.js';
import { MigrationError } from '../errors.js';
import type { ClickHouse } from './client.js';
import { sql, trustedStatement } from './quote.js';
import type { Sql } from './quote.js';

/**
 * Schema migrations: `deploy/clickhouse/migrations/NNN_name.sql`, applied in order at start and recorded in
 * `schema_migrations`. Every statement is idempotent (`IF NOT EXISTS`), so recorders starting at the same time may
 * both apply a migration safely. Statements end with `;` at the end of a line; whole-line `--` comments are
 * ignored. Table names are unqualified: they resolve in the configured database.
 */

export type Migration = { version: number; name: string; checksum: string; statements: Sql[] };

const FILE_RE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Splits a migration file into statements. Pure. */
export function splitStatements(text: string): string[] {
  const body = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return body
    .split(/;[ \t]*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Reads and parses every migration file in `dir`, ordered by version. */
export function loadMigrations(dir: string): Migration[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  } catch (cause) {
    throw new MigrationError(`cannot read migrations directory ${dir}`, { cause });
  }
  const migrations = files.map((file) => {
    const m = FILE_RE.exec(file);
    if (!m) throw new MigrationError(`migration file name ${file} does not match NNN_name.sql`);
    const text = readFileSync(join(dir, file), 'utf8');
    const statements = splitStatements(text);
    if (statements.length === 0) throw new MigrationError(`migration ${file} has no statements`);
    return {
      version: Number(m[1]),
      name: m[2]!,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: statements.map(trustedStatement),
    };
  });
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new MigrationError(`two migrations have version ${migrations[i]!.version}`);
    }
  }
  return migrations;
}

/** The migrations shipped with the recorder: the nearest `deploy/clickhouse/migrations` above this module. */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'deploy', 'clickhouse', 'migrations');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw new MigrationError('deploy/clickhouse/migrations not found; set clickhouse.migrationsDir');
}

const BOOTSTRAP = sql`CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
ORDER BY version`;

/**
 * Applies the migrations that `schema_migrations` does not list. A listed migration whose file changed since is
 * refused: schema changes go into a new migration.
 */
export async function applyMigrations(
  ch: ClickHouse,
  migrations: readonly Migration[],
  log: Logger,
): Promise<number[]> {
  await ch.command(BOOTSTRAP);
  const rows = await ch.query<{ version: number; checksum: string }>(
    sql`SELECT version, any(checksum) AS checksum FROM schema_migrations GROUP BY version`,
  );
  const applied = new Map(rows.map((r) => [Number(r.version), r.checksum]));
  const done: number[] = [];
  for (const m of migrations) {
    const checksum = applied.get(m.version);
    if (checksum !== undefined) {
      if (checksum !== m.checksum) {
        throw new MigrationError(
          `migration ${m.version}_${m.name} changed after it was applied (checksum differs); add a new migration instead`,
        );
      }
      continue;
    }
    for (const statement of m.statements) await ch.command(statement);
    await ch.command(
      sql`INSERT INTO schema_migrations (version, name, checksum) VALUES (${m.version}, ${m.name}, ${m.checksum})`,
    );
    log.info({ version: m.version, name: m.name }, 'applied ClickHouse migration');
    done.push(m.version);
  }
  return done;
}
