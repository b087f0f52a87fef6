import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MigrationError } from '../errors.js';
import { defaultMigrationsDir, loadMigrations, splitStatements } from './migrations.js';

describe('migrations', () => {
  it('splits statements at a semicolon that ends a line and drops comment lines', () => {
    expect(
      splitStatements(
        "-- header\nCREATE TABLE a (x String DEFAULT ';');\n\n-- next\nCREATE TABLE b (y UInt8);  \n",
      ),
    ).toEqual(["CREATE TABLE a (x String DEFAULT ';')", 'CREATE TABLE b (y UInt8)']);
    expect(splitStatements('SELECT 1')).toEqual(['SELECT 1']);
  });

  it('loads the shipped migrations in order, each statement idempotent', () => {
    const migrations = loadMigrations(defaultMigrationsDir());
    expect(migrations.map((m) => `${m.version}_${m.name}`)).toEqual([
      '1_events',
      '2_sessions',
      '3_dead_letters',
      '5_policy_inputs',
    ]);
    for (const m of migrations) {
      expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
      for (const s of m.statements)
        expect(s.text).toMatch(/^CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS /);
    }
  });

  it('rejects badly named or duplicate files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-mig-'));
    writeFileSync(join(dir, 'events.sql'), 'SELECT 1;\n');
    expect(() => loadMigrations(dir)).toThrow(MigrationError);
    const dup = mkdtempSync(join(tmpdir(), 'gh-mig-'));
    writeFileSync(join(dup, '001_a.sql'), 'SELECT 1;\n');
    writeFileSync(join(dup, '0001_b.sql'), 'SELECT 1;\n');
    expect(() => loadMigrations(dup)).toThrow(/two migrations have version 1/);
    const empty = mkdtempSync(join(tmpdir(), 'gh-mig-'));
    writeFileSync(join(empty, '001_a.sql'), '-- nothing\n');
    expect(() => loadMigrations(empty)).toThrow(/no statements/);
  });
});
