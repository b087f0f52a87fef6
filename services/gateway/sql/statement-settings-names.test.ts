import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSqlSync } from './analyze-sql.js';
import { loadSqlParser } from './pg-parser.js';
import type { SqlStatementAnalysis } from './sql-analysis.js';

beforeAll(async () => {
  await loadSqlParser();
});

function one(sql: string): SqlStatementAnalysis {
  const a = analyzeSqlSync(sql);
  expect(a.parse_error).toBeNull();
  expect(a.statements).toHaveLength(1);
  return a.statements[0]!;
}

describe('settings: every way a statement changes a setting', () => {
  const cases: [string, SqlStatementAnalysis['settings']][] = [
    [
      'SET statement_timeout = 5',
      [{ name: 'statement_timeout', value: '5', action: 'set', scope: 'session' }],
    ],
    [
      'SET LOCAL standard_conforming_strings TO off',
      [{ name: 'standard_conforming_strings', value: 'off', action: 'set', scope: 'local' }],
    ],
    [
      'SET "Standard_Conforming_Strings" = off',
      [{ name: 'standard_conforming_strings', value: 'off', action: 'set', scope: 'session' }],
    ],
    ["SET NAMES 'LATIN1'", [{ name: 'client_encoding', value: 'LATIN1', action: 'set', scope: 'session' }]],
    ["SET search_path = a, 'b'", [{ name: 'search_path', value: 'a, b', action: 'set', scope: 'session' }]],
    ['SET ROLE admin', [{ name: 'role', value: 'admin', action: 'set', scope: 'session' }]],
    ['RESET bytea_output', [{ name: 'bytea_output', value: null, action: 'reset', scope: 'session' }]],
    [
      'SET bytea_output TO DEFAULT',
      [{ name: 'bytea_output', value: null, action: 'reset', scope: 'session' }],
    ],
    ['RESET ALL', [{ name: null, value: null, action: 'reset_all', scope: 'session' }]],
    ['DISCARD ALL', [{ name: null, value: null, action: 'reset_all', scope: 'session' }]],
    [
      'SET TRANSACTION READ ONLY',
      [{ name: 'transaction_read_only', value: '1', action: 'set', scope: 'local' }],
    ],
    [
      "SELECT set_config('standard_conforming_strings', 'off', false)",
      [{ name: 'standard_conforming_strings', value: 'off', action: 'set', scope: 'session' }],
    ],
    [
      "SELECT 1 FROM t WHERE pg_catalog.set_config('bytea_output', 'escape', true) IS NOT NULL",
      [{ name: 'bytea_output', value: 'escape', action: 'set', scope: 'local' }],
    ],
    [
      "SELECT set_config(name, 'off', false) FROM t",
      [{ name: null, value: 'off', action: 'set', scope: 'session' }],
    ],
    [
      "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
      [{ name: null, value: null, action: 'set', scope: 'session' }],
    ],
    [
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS 'select 1'",
      [{ name: 'standard_conforming_strings', value: 'off', action: 'set', scope: 'function' }],
    ],
    [
      'ALTER FUNCTION f() SET bytea_output = escape',
      [{ name: 'bytea_output', value: 'escape', action: 'set', scope: 'function' }],
    ],
    [
      'ALTER ROLE r SET standard_conforming_strings = off',
      [{ name: 'standard_conforming_strings', value: 'off', action: 'set', scope: 'role' }],
    ],
    [
      'ALTER DATABASE d SET client_encoding = latin1',
      [{ name: 'client_encoding', value: 'latin1', action: 'set', scope: 'database' }],
    ],
    [
      'ALTER SYSTEM SET backslash_quote = on',
      [{ name: 'backslash_quote', value: 'on', action: 'set', scope: 'system' }],
    ],
    ['SELECT 1', []],
  ];
  it.each(cases)('%s', (sql, settings) => {
    expect(one(sql).settings).toEqual(settings);
  });
});

describe('opaque code is write + DDL', () => {
  it.each([
    "DO $$ BEGIN EXECUTE 'UPDATE t SET a = 1'; END $$",
    'CALL p()',
    'SELECT my_func(1)',
    'SELECT a ### b FROM t',
    'EXPLAIN ANALYZE SELECT 1',
    'EXPLAIN SELECT my_immutable_func()',
    'CREATE TABLE x AS SELECT 1',
    'SELECT 1 INTO x',
    "COPY t TO PROGRAM 'cat'",
    "LOAD 'x'",
    'CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()',
  ])('%s', (sql) => {
    expect(one(sql)).toMatchObject({ opaque: true, ddl: true, read_only: false });
  });

  it.each(["SELECT nextval('s')", 'SELECT lower(a) FROM t', 'EXPLAIN SELECT 1', 'SELECT pg_sleep(1)'])(
    'not opaque: %s',
    (sql) => {
      expect(one(sql).opaque).toBe(false);
    },
  );
});

describe('name_ref: prepared statements and cursors', () => {
  it.each([
    [
      'PREPARE /* c */ "Del" (int, text) AS DELETE FROM t',
      { op: 'prepare', kind: 'statement', name: 'Del', hold: false },
      { type: 'delete', text: 'DELETE FROM t', has_where: false, writes: ['t'] },
    ],
    [
      // a keyword-named cursor, HOLD and non-ASCII text
      "DECLARE cursor BINARY CURSOR WITH HOLD FOR SELECT 'é' AS x FROM t",
      { op: 'declare', kind: 'cursor', name: 'cursor', hold: true },
      { type: 'select', text: "SELECT 'é' AS x FROM t", read_only: true },
    ],
  ])('%s keeps the statement behind the name, with its own text', (sql, ref, statement) => {
    const s = one(sql);
    expect(s.name_ref).toMatchObject(ref);
    expect(s.name_ref?.statement).toMatchObject(statement);
  });

  it.each([
    ['EXECUTE p(1)', { op: 'execute', kind: 'statement', name: 'p' }],
    ['FETCH 10 FROM c', { op: 'fetch', kind: 'cursor', name: 'c' }],
    ['MOVE ALL IN c', { op: 'move', kind: 'cursor', name: 'c' }],
    ['CLOSE c', { op: 'close', kind: 'cursor', name: 'c' }],
    ['CLOSE ALL', { op: 'close', kind: 'cursor', name: null }],
    ['DEALLOCATE p', { op: 'deallocate', kind: 'statement', name: 'p' }],
    ['DEALLOCATE ALL', { op: 'deallocate', kind: 'statement', name: null }],
    ['DISCARD ALL', { op: 'discard', kind: 'all', name: null }],
  ])('%s', (sql, ref) => {
    expect(one(sql).name_ref).toMatchObject(ref);
  });

  it('an EXECUTE alone is never read-only (it is decided as the statement behind the name)', () => {
    expect(one('EXECUTE p').read_only).toBe(false);
  });
});
