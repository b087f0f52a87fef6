import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouse } from '../../services/recorder/clickhouse/client.js';
import {
  applyMigrations,
  defaultMigrationsDir,
  loadMigrations,
} from '../../services/recorder/clickhouse/migrations.js';
import { ident, joinSql, sql, valuesRow } from '../../services/recorder/clickhouse/quote.js';
import { RowBinaryWriter } from '../../services/recorder/clickhouse/row-binary.js';
import { MigrationError } from '../../services/recorder/errors.js';
import {
  EVENT_COLUMNS,
  eventRowValues,
  toEventRow,
  writeEventRow,
} from '../../services/recorder/store/event-row.js';
import { EventWriter, recomputeSessionsSql } from '../../services/recorder/store/event-writer.js';
import { SESSION_COLUMNS } from '../../services/recorder/store/session-fold.js';
import { dropExpiredPartitions } from '../../services/recorder/store/retention.js';
import { NO_STATEMENTS } from '../../dev/recorder-fixtures/recorded.js';
import { approvalStream, postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { sshShellScenario } from '../../dev/recorder-fixtures/ssh-scenario.js';
import { testDatabase } from '../support/clickhouse.js';
import { testLogger } from '../support/kafka.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

let ch: ClickHouse;
beforeAll(async () => {
  const db = await testDatabase();
  cleanups.push(db.drop);
  ch = db.ch;
});

const utf8Hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex').toUpperCase();

describe('quoting against ClickHouse', () => {
  const nasty = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.string({
      unit: fc.constantFrom(
        "'",
        '\\',
        '\0',
        '\n',
        '\r',
        '\t',
        '`',
        '"',
        'x',
        '0',
        'é',
        '😀',
        '\ud800',
        '?',
        '{',
      ),
      maxLength: 40,
    }),
  );

  it('stores and finds any string exactly (VALUES insert and WHERE literal)', async () => {
    await ch.command(
      sql`CREATE TABLE quote_strings (id UInt32, s String, tags Array(String)) ENGINE = MergeTree() ORDER BY id`,
    );
    const samples = fc.sample(fc.tuple(nasty, fc.array(nasty, { maxLength: 3 })), { numRuns: 400, seed: 42 });
    samples.push(["x' OR 1=1 --", ['\\', "\\'"]], ['', []], ['\u0000\u0000', ['\u007f']]);
    await ch.insertValues(
      ident('quote_strings'),
      ['id', 's', 'tags'],
      samples.map(([s, tags], i) => valuesRow([i, s, tags])),
    );
    const rows = await ch.query<{ id: number; h: string; th: string[] }>(
      sql`SELECT id, hex(s) AS h, arrayMap(x -> hex(x), tags) AS th FROM quote_strings ORDER BY id`,
    );
    expect(rows).toHaveLength(samples.length);
    for (const r of rows) {
      const [s, tags] = samples[r.id]!;
      expect(r.h).toBe(utf8Hex(s));
      expect(r.th).toEqual(tags.map(utf8Hex));
    }
    // The same strings as WHERE literals find exactly their rows.
    for (const [i, [s]] of samples.slice(0, 60).entries()) {
      const found = await ch.query<{ id: number }>(
        sql`SELECT id FROM quote_strings WHERE s = ${s} AND id = ${i}`,
      );
      expect(found).toEqual([{ id: i }]);
    }
  });

  it('stores any bytes exactly', async () => {
    await ch.command(sql`CREATE TABLE quote_bytes (id UInt32, b String) ENGINE = MergeTree() ORDER BY id`);
    const samples = fc.sample(fc.uint8Array({ maxLength: 200 }), { numRuns: 300, seed: 7 });
    samples.push(new Uint8Array(256).map((_, i) => i));
    await ch.insertValues(
      ident('quote_bytes'),
      ['id', 'b'],
      samples.map((b, i) => valuesRow([i, b])),
    );
    const rows = await ch.query<{ id: number; h: string }>(
      sql`SELECT id, hex(b) AS h FROM quote_bytes ORDER BY id`,
    );
    expect(rows.map((r) => r.h)).toEqual(samples.map((b) => Buffer.from(b).toString('hex').toUpperCase()));
  });
});

describe('RowBinary inserts against ClickHouse', () => {
  it('stores every string, array, byte string and integer exactly as a VALUES insert does', async () => {
    const nasty = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({
        unit: fc.constantFrom("'", '\\', '\0', '\n', '\t', 'é', '😀', '\ud800', '\udc00', 'x'),
        maxLength: 200,
      }),
    );
    await ch.command(
      sql`CREATE TABLE rb (id UInt32, s String, tags Array(String), b String, n8 UInt8, n64 UInt64)
          ENGINE = MergeTree() ORDER BY id`,
    );
    const samples = fc.sample(
      fc.tuple(
        nasty,
        fc.array(nasty, { maxLength: 3 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      ),
      { numRuns: 300, seed: 11 },
    );
    samples.push(['', [], new Uint8Array(256).map((_, i) => i), 2n ** 64n - 1n]);
    const columns = ['id', 's', 'tags', 'b', 'n8', 'n64'];
    const out = new RowBinaryWriter(16);
    for (const [i, [s, tags, b, n]] of samples.entries()) {
      out.uint32(i);
      out.string(s);
      out.strings(tags);
      out.bytes(b);
      out.uint8(i % 2 === 0);
      out.uint64(n);
    }
    await ch.insertRowBinary(ident('rb'), columns, out.finish());
    await ch.insertValues(
      ident('rb'),
      columns,
      samples.map(([s, tags, b, n], i) => valuesRow([i + 100_000, s, tags, b, i % 2 === 0, n])),
    );
    const rows = await ch.query<{ id: number; h: string; th: string[]; bh: string; n8: number; n64: string }>(
      sql`SELECT id, hex(s) AS h, arrayMap(x -> hex(x), tags) AS th, hex(b) AS bh, n8, toString(n64) AS n64
          FROM rb ORDER BY id`,
    );
    expect(rows).toHaveLength(2 * samples.length);
    const binary = rows.slice(0, samples.length);
    const values = rows.slice(samples.length).map((r) => ({ ...r, id: r.id - 100_000 }));
    expect(binary).toEqual(values);
    for (const r of binary) {
      const [s, tags, b, n] = samples[r.id]!;
      expect(r.h).toBe(utf8Hex(s));
      expect(r.th).toEqual(tags.map(utf8Hex));
      expect(r.bh).toBe(Buffer.from(b).toString('hex').toUpperCase());
      expect(r.n64).toBe(n.toString());
    }
  });

  it('writes event rows exactly as the VALUES rows they replace', async () => {
    const db = await testDatabase(); // its own schema: the migrations test below wants a fresh database
    cleanups.push(db.drop);
    const ch = db.ch;
    await applyMigrations(ch, loadMigrations(defaultMigrationsDir()), testLogger);
    const events = postgresScenario({ startMicros: BigInt(Date.now()) * 1000n, rows: 5 });
    const rows = events.map((e, i) =>
      toEventRow(e, { topic: "t'x", partition: 3, offset: String(2n ** 63n + BigInt(i)) }, NO_STATEMENTS),
    );
    const out = new RowBinaryWriter();
    for (const r of rows) writeEventRow(out, r);
    await ch.command(sql`CREATE TABLE events_values AS events`);
    await ch.insertRowBinary(ident('events'), EVENT_COLUMNS, out.finish());
    await ch.insertValues(
      ident('events_values'),
      EVENT_COLUMNS,
      rows.map((r) => valuesRow(eventRowValues(r))),
    );
    const read = (table: string) =>
      ch.query<Record<string, unknown>>(
        sql`SELECT ${joinSql(
          EVENT_COLUMNS.map((c) => sql`${ident(c)}`),
          sql`, `,
        )} FROM ${ident(table)} ORDER BY seq`,
      );
    const [binary, values] = [await read('events'), await read('events_values')];
    expect(binary).toHaveLength(rows.length);
    expect(binary).toEqual(values);
  });
});

describe('migrations', () => {
  it('applies once, is idempotent, and refuses a changed migration', async () => {
    const migrations = loadMigrations(defaultMigrationsDir());
    expect(migrations.map((m) => m.version)).toEqual([1, 2, 3, 5]);
    expect(await applyMigrations(ch, migrations, testLogger)).toEqual([1, 2, 3, 5]);
    expect(await applyMigrations(ch, migrations, testLogger)).toEqual([]);
    const tables = await ch.query<{ name: string }>(
      sql`SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name`,
    );
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['dead_letters', 'events', 'schema_migrations', 'sessions']),
    );

    const dir = mkdtempSync(join(tmpdir(), 'gh-migrations-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    writeFileSync(
      join(dir, '001_events.sql'),
      'CREATE TABLE IF NOT EXISTS something_else (x UInt8) ENGINE = Memory;\n',
    );
    await expect(applyMigrations(ch, loadMigrations(dir), testLogger)).rejects.toThrow(MigrationError);
  });
});

describe('session summaries', () => {
  it('folds each write into the rows a recompute from all events gives, redeliveries included', async () => {
    await applyMigrations(ch, loadMigrations(defaultMigrationsDir()), testLogger);
    const writer = new EventWriter(ch);
    const pg = postgresScenario({ sessionId: 'fold-pg', rows: 250 });
    const pg2 = postgresScenario({ sessionId: 'fold-pg2', rows: 3, email: 'bob@example.com' });
    const ssh = sshShellScenario({ sessionId: 'fold-ssh' }).events;
    const approvals = approvalStream('ap-1', 'fold-pg');
    const at = (i: number) => ({ topic: 't', partition: 0, offset: String(i) });
    const rows = (events: readonly (typeof pg)[number][]) =>
      events.map((e, i) => toEventRow(e, at(i), NO_STATEMENTS));
    // Writes cut at arbitrary points, sessions interleaved, one write redelivered (after a crash before the
    // commit), one write refolded by a recorder that starts without the kept summaries.
    const writes = [
      [...rows(pg.slice(0, 3)), ...rows(ssh.slice(0, 2))],
      [...rows(pg.slice(3, 7)), ...rows(approvals), ...rows(pg2.slice(0, 4))],
      [...rows(pg.slice(3, 7)), ...rows(ssh.slice(2))],
      [...rows(pg.slice(7)), ...rows(pg2.slice(4))],
    ];
    for (const w of writes) {
      await writer.insertEvents(w, 1000);
      await writer.foldSessions(w);
    }
    const restarted = new EventWriter(ch);
    await restarted.insertEvents(writes[3]!, 1000);
    await restarted.foldSessions(writes[3]!);
    writer.forgetSessions();
    await writer.foldSessions(writes[2]!);

    const cols = joinSql(
      SESSION_COLUMNS.map((c) => sql`${ident(c)}`),
      sql`, `,
    );
    const folded = await ch.query<Record<string, unknown>>(
      sql`SELECT ${cols} FROM sessions FINAL ORDER BY session_id`,
    );
    const recomputed = await ch.query<Record<string, unknown>>(
      sql`SELECT * FROM (${recomputeSessionsSql(['fold-pg', 'fold-pg2', 'fold-ssh'])}) ORDER BY session_id`,
    );
    expect(folded.map((r) => r['session_id'])).toEqual(['fold-pg', 'fold-pg2', 'fold-ssh']);
    // The recompute's `version` is its `events` (both `count()`: one column in the answer).
    expect(folded.map((r) => r['version'])).toEqual(folded.map((r) => r['events']));
    expect(folded.map((r) => Object.values(r).slice(0, -1))).toEqual(recomputed.map((r) => Object.values(r)));
    expect(folded[0]).toMatchObject({ events: String(pg.length), closed: 1, requests: '3', denied: '1' });
  });
});

describe('retention', () => {
  it('drops daily partitions older than retentionDays and keeps the rest', async () => {
    await applyMigrations(ch, loadMigrations(defaultMigrationsDir()), testLogger);
    const writer = new EventWriter(ch);
    const day = 86_400_000_000n;
    const now = BigInt(Date.now()) * 1000n;
    const old = postgresScenario({ startMicros: now - 10n * day, rows: 3 });
    const recent = postgresScenario({ startMicros: now - 1n * day, rows: 3 });
    const fresh = postgresScenario({ startMicros: now - 60_000_000n, rows: 3 });
    const all = [...old, ...recent, ...fresh];
    const rows = all.map((e, i) =>
      toEventRow(e, { topic: 't', partition: 0, offset: String(i) }, NO_STATEMENTS),
    );
    await writer.insertEvents(rows, 1000);
    await writer.refreshSessions([old[0]!.sessionId, recent[0]!.sessionId, fresh[0]!.sessionId]);

    expect(await dropExpiredPartitions(ch, await currentDb(), 0, testLogger)).toEqual([]); // 0 = keep everything
    const dropped = await dropExpiredPartitions(ch, await currentDb(), 3, testLogger);
    // The events, their session summaries, and what migration 005's views derived from the old events.
    expect([...new Set(dropped.map((d) => d.table))].sort()).toEqual([
      'events',
      'policy_decision_inputs',
      'policy_request_refs',
      'policy_requests',
      'policy_sessions',
      'sessions',
    ]);

    const left = await ch.query<{ session_id: string }>(
      sql`SELECT DISTINCT session_id FROM events ORDER BY session_id`,
    );
    expect(left.map((r) => r.session_id).sort()).toEqual([recent[0]!.sessionId, fresh[0]!.sessionId].sort());
    const sessions = await ch.query<{ session_id: string }>(sql`SELECT session_id FROM sessions FINAL`);
    expect(sessions.map((r) => r.session_id).sort()).toEqual(
      [recent[0]!.sessionId, fresh[0]!.sessionId].sort(),
    );
    expect(await dropExpiredPartitions(ch, await currentDb(), 3, testLogger)).toEqual([]);
  });
});

async function currentDb(): Promise<string> {
  return (await ch.query<{ db: string }>(sql`SELECT currentDatabase() AS db`))[0]!.db;
}
