import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_STATEMENTS, recordEvents } from '../../../../dev/recorder-fixtures/recorded.js';
import { postgresScenario } from '../../../../dev/recorder-fixtures/session-scenario.js';
import { defaultMigrationsDir, loadMigrations } from '../../clickhouse/migrations.js';
import { EVENT_COLUMNS, toEventRow } from '../event-row.js';
import { DuckDbStore } from './duckdb-store.js';
import { translateMigrations } from './duckdb-schema.js';

const log = pino({ level: 'silent' });
let store: DuckDbStore;

beforeAll(async () => {
  store = await DuckDbStore.open(
    join(mkdtempSync(join(tmpdir(), 'gh-duckdb-')), 'r.duckdb'),
    loadMigrations(defaultMigrationsDir()),
  );
});
afterAll(() => store.close());

describe('DuckDB schema from the ClickHouse migrations', () => {
  it('has every column the ClickHouse writer writes, bytes as BLOB', () => {
    const { tables } = translateMigrations(loadMigrations(defaultMigrationsDir()));
    const events = tables.get('events')!;
    expect(events.columns.map((c) => c.name)).toEqual(expect.arrayContaining([...EVENT_COLUMNS]));
    expect(events.columns.find((c) => c.name === 'payload')?.duckType).toBe('BLOB');
    expect(events.columns.find((c) => c.name === 'identity_groups')?.duckType).toBe('VARCHAR[]');
    expect(events.dayColumn).toBe('ts');
  });

  it('refuses what it cannot translate instead of guessing', () => {
    const m = loadMigrations(defaultMigrationsDir());
    const bad = {
      ...m[0]!,
      statements: [{ ...m[0]!.statements[0]!, text: 'ALTER TABLE events MODIFY TTL ts' }],
    };
    expect(() => translateMigrations([...m, { ...bad, version: 999 }])).toThrow(/cannot translate/);
  });
});

describe('DuckDB recording store', () => {
  it('records a session once however often it is delivered, and replays it as the ClickHouse store does', async () => {
    const events = postgresScenario({ sessionId: 'duck-1', rows: 150 });
    const rows = events.map((e, i) =>
      toEventRow(e, { topic: 't', partition: 0, offset: String(i) }, NO_STATEMENTS),
    );
    const requests = recordEvents(events);
    await store.writer.insertEvents(rows, 1000);
    await store.writer.insertEvents(rows.slice(0, 5), 1000); // a redelivery
    await store.writer.refreshSessions(['duck-1']);
    await store.writer.refreshSessions(['duck-1']);

    const replayed = await store.queries.sessionEvents('duck-1', undefined, 10_000);
    expect(replayed.map((e) => [e.seq, e.kind, e.payload])).toEqual(
      requests.map((e) => [e.seq, e.kind, e.payload]),
    );
    const page = await store.queries.sessionEvents(
      'duck-1',
      { seq: BigInt(replayed[2]!.seq), eventId: replayed[2]!.eventId },
      2,
    );
    expect(page.map((e) => e.seq)).toEqual([replayed[3]!.seq, replayed[4]!.seq]);

    const summary = await store.queries.getSession('duck-1');
    expect(summary).toMatchObject({ sessionId: 'duck-1', events: events.length, closed: true, requests: 3 });
    expect(summary!.denied).toBe(1);
    expect(summary!.rowsReturned).toBe(150);
    const listed = await store.queries.listSessions({ limit: 10, identity: summary!.identity.sub });
    expect(listed.map((s) => s.sessionId)).toEqual(['duck-1']);
    expect(await store.queries.listSessions({ limit: 10, connection: 'nope' })).toEqual([]);

    const texts = await store.writer.lookupStatements([{ sessionId: 'duck-1', requestId: 1 }]);
    expect([...texts.values()][0]).toMatch(/select/i);
    // The scenario's clock is years back: retention deletes its days from every table.
    const dropped = await store.dropExpired(30, log);
    expect(dropped.map((d) => d.table).sort()).toEqual(['events', 'sessions']);
    expect(await store.queries.getSession('duck-1')).toBeUndefined();
    expect(await store.dropExpired(30, log)).toEqual([]);
  });
});
