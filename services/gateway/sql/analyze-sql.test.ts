import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSql, analyzeSqlSync } from './analyze-sql.js';
import { loadSqlParser } from './pg-parser.js';
import type { SqlStatementAnalysis } from './sql-analysis.js';

beforeAll(async () => {
  await loadSqlParser();
});

/** The single statement of `sql`. */
function one(sql: string): SqlStatementAnalysis {
  const a = analyzeSqlSync(sql);
  expect(a.parse_error).toBeNull();
  expect(a.statements).toHaveLength(1);
  return a.statements[0]!;
}

type Expect = Partial<SqlStatementAnalysis>;

const CASES: [string, Expect][] = [
  // reads
  [
    'select * from customers c join public.orders o on o.cid = c.id where c.id = 1',
    {
      type: 'select',
      reads: ['customers', 'public.orders'],
      writes: [],
      read_only: true,
      ddl: false,
      has_where: false,
    },
  ],
  ['SELECT * FROM "Public"."Customers"', { reads: ['public.customers'] }],
  ['select * from db.s.t', { reads: ['db.s.t'] }],
  ['table t', { type: 'select', reads: ['t'], read_only: true }],
  ['values (1), (2)', { type: 'select', reads: [], read_only: true }],
  ['select * from t where a in (select b from u where exists (select 1 from v))', { reads: ['t', 'u', 'v'] }],
  [
    'select * from a union all (select * from b) except select * from c',
    { reads: ['a', 'b', 'c'], read_only: true },
  ],
  ['select * from t1, lateral (select * from t2 where t2.x = t1.x) s', { reads: ['t1', 't2'] }],
  [
    'with x as (select * from src), y as (select * from x join other using (id)) select * from y, x',
    { reads: ['src', 'other'], read_only: true },
  ],
  [
    'with recursive r as (select 1 union all select * from r) select * from r',
    { reads: [], read_only: true },
  ],
  // a CTE only hides the table in its own scope
  [
    'select * from customers, (with customers as (select 1) select * from customers) x',
    { reads: ['customers'] },
  ],
  ['with x as (select 1) select * from public.x', { reads: ['public.x'] }],
  // side effects in SELECT
  ['select pg_terminate_backend(1)', { functions: ['pg_terminate_backend'], read_only: false }],
  ["select nextval('s')", { functions: ['nextval'], read_only: false }],
  ["select set_config('role', 'admin', false)", { functions: ['set_config'], read_only: false }],
  ["select lo_import('/etc/passwd')", { read_only: false }],
  ["select * from dblink('host=x', 'select 1') as t(a int)", { functions: ['dblink'], read_only: false }],
  ['select pg_catalog.pg_sleep(10)', { functions: ['pg_catalog.pg_sleep'], read_only: false }],
  [
    'select count(*), lower(name), coalesce(a, b), now(), pg_catalog.upper(x) from t',
    { functions: ['count', 'lower', 'now', 'pg_catalog.upper'], read_only: true },
  ],
  ['select extract(year from now())', { functions: ['extract', 'now'], read_only: true }],
  ['select my_schema.lower(x) from t', { functions: ['my_schema.lower'], read_only: false }],
  ['select * from t for update', { read_only: false, reads: ['t'] }],
  ['select * from t for share skip locked', { read_only: false }],
  [
    'select * into t2 from t',
    { type: 'create_table_as', reads: ['t'], writes: ['t2'], ddl: true, read_only: false },
  ],
  ['select 1 operator(public.+) 2', { read_only: false }],
  ['select 1 operator(pg_catalog.+) 2, 3 + 4', { read_only: true }],
  ["select '1'::mytype", { read_only: false }],
  ["select '1'::int8, '{}'::text[], 'x'::regclass, cast(1 as numeric)", { read_only: true }],
  ['select * from t tablesample bernoulli (10)', { read_only: true, reads: ['t'] }],
  ['select * from t tablesample my_method (10)', { read_only: false }],
  ["select 'ERROR' as e, $$ERROR$$", { type: 'select', read_only: true }],
  // data-modifying CTEs
  [
    'with d as (delete from t where a = 1 returning *) insert into archive select * from d',
    { type: 'insert', writes: ['archive', 't'], reads: [], read_only: false, has_where: false },
  ],
  [
    'with d as (delete from t returning *) select * from d',
    { type: 'select', writes: ['t'], read_only: false },
  ],
  // DML
  ['insert into t (a) values (1)', { type: 'insert', writes: ['t'], reads: [], read_only: false }],
  [
    'insert into t select * from s on conflict (id) do update set a = excluded.a returning *',
    { writes: ['t'], reads: ['s'] },
  ],
  ['insert into t select * from t', { writes: ['t'], reads: [] }],
  ['update t set a = 1', { type: 'update', writes: ['t'], has_where: false }],
  [
    'update t set a = s.a from s where s.id = t.id and t.b in (select b from u)',
    { type: 'update', writes: ['t'], reads: ['s', 'u'], has_where: true },
  ],
  ['delete from t', { type: 'delete', writes: ['t'], has_where: false, read_only: false }],
  ['delete from public.t using u where t.id = u.id', { writes: ['public.t'], reads: ['u'], has_where: true }],
  [
    'merge into t using s on t.id = s.id when matched then update set a = 1 when not matched then insert values (s.id)',
    { type: 'merge', writes: ['t'], reads: ['s'], has_where: false, read_only: false },
  ],
  // COPY
  ['copy t to stdout', { type: 'copy', reads: ['t'], writes: [], read_only: true }],
  ['copy (select * from s where x > 1) to stdout with csv', { reads: ['s'], read_only: true }],
  ['copy (delete from t returning *) to stdout', { writes: ['t'], read_only: false }],
  ['copy t (a, b) from stdin', { type: 'copy', writes: ['t'], reads: [], read_only: false }],
  ["copy t to '/tmp/x'", { reads: ['t'], read_only: false }],
  ["copy t to program 'rm -rf /'", { read_only: false }],
  // DDL
  [
    'create table public.Foo (id int primary key, n text)',
    { type: 'create_table', writes: ['public.foo'], ddl: true, object_type: 'table' },
  ],
  ['create table c (like t)', { writes: ['c'], reads: ['t'], ddl: true }],
  ['create table x as select * from t', { type: 'create_table_as', writes: ['x'], reads: ['t'], ddl: true }],
  [
    'create materialized view mv as select * from t',
    { type: 'create_materialized_view', writes: ['mv'], reads: ['t'] },
  ],
  [
    'create view v as select * from t',
    { type: 'create_view', writes: ['v'], reads: ['t'], ddl: true, object_type: 'view' },
  ],
  [
    'create index i on t (lower(a))',
    { type: 'create_index', writes: ['t'], functions: ['lower'], ddl: true },
  ],
  [
    'drop table public.a, b cascade',
    { type: 'drop', writes: ['public.a', 'b'], ddl: true, object_type: 'table' },
  ],
  ['drop function f(int)', { type: 'drop', writes: [], ddl: true, object_type: 'function' }],
  ['drop schema s cascade', { type: 'drop', writes: [], ddl: true, object_type: 'schema' }],
  [
    "alter table t add column c int default nextval('s')",
    { type: 'alter_table', writes: ['t'], ddl: true, functions: ['nextval'] },
  ],
  ['alter table t rename to u', { type: 'alter_table', writes: ['t'], ddl: true }],
  ['alter table t rename column a to b', { type: 'alter_table', writes: ['t'], ddl: true }],
  ['alter table t set schema s', { type: 'alter_table', writes: ['t'], ddl: true }],
  ['alter index i rename to j', { type: 'alter_index', writes: ['i'], ddl: true }],
  ['truncate a, only b', { type: 'truncate', writes: ['a', 'b'], ddl: true, read_only: false }],
  ['create sequence s', { type: 'create_sequence', writes: ['s'], ddl: true }],
  ['create schema x', { type: 'create_schema', ddl: true }],
  ["comment on table t is 'x'", { type: 'comment', ddl: true }],
  [
    'create function f() returns int language sql as $$select 1$$',
    { type: 'create_function', ddl: true, functions: [] },
  ],
  ['create role r', { type: 'create_role', ddl: true }],
  [
    'create trigger tr after insert on t for each row execute function f()',
    { type: 'create_trigger', writes: ['t'] },
  ],
  // transactions and session
  ['begin', { type: 'begin', read_only: true }],
  ['start transaction read only', { type: 'begin', read_only: true }],
  ['commit', { type: 'commit', read_only: true }],
  ['rollback', { type: 'rollback', read_only: true }],
  ['savepoint a', { type: 'savepoint', read_only: true }],
  ['rollback to savepoint a', { type: 'rollback_to_savepoint', read_only: true }],
  ["prepare transaction 'x'", { type: 'prepare_transaction', read_only: false }],
  ['set role admin', { type: 'set', read_only: false }],
  ['set default_transaction_read_only = off', { type: 'set', read_only: false }],
  ['reset all', { type: 'reset', read_only: false }],
  ['show search_path', { type: 'show', read_only: true }],
  // EXPLAIN
  ['explain select * from t', { type: 'explain', reads: ['t'], read_only: true }],
  ['explain delete from t', { type: 'explain', reads: ['t'], writes: [], read_only: true }],
  ['explain analyze select * from t', { reads: ['t'], read_only: false, opaque: true, ddl: true }],
  ['explain analyze delete from t', { writes: ['t'], read_only: false }],
  ['explain (analyze, buffers) update t set a = 1', { writes: ['t'], read_only: false }],
  ['explain (analyze off) delete from t', { writes: [], read_only: true }],
  ['explain (analyze 1) delete from t', { writes: ['t'], read_only: false }],
  ["explain analyze select nextval('s')", { read_only: false }],
  ['explain analyze create table x as select 1', { writes: ['x'], read_only: false }],
  // grants, calls, misc
  ['grant select on table t to u', { type: 'grant', writes: ['t'], object_type: 'table', read_only: false }],
  ['revoke all on t from u', { type: 'revoke', writes: ['t'] }],
  ['grant admin to bob', { type: 'grant_role', read_only: false }],
  ['call p(1)', { type: 'call', functions: ['p'], read_only: false }],
  ['do $$ begin perform 1; end $$', { type: 'do', read_only: false }],
  ['vacuum analyze t', { type: 'vacuum', writes: ['t'], read_only: false }],
  ['analyze t', { type: 'analyze', writes: ['t'] }],
  ['lock table t in access exclusive mode', { type: 'lock', read_only: false }],
  ['refresh materialized view mv', { type: 'refresh_materialized_view', writes: ['mv'] }],
  ['prepare q (int) as select * from t where id = $1', { type: 'prepare', reads: ['t'], read_only: true }],
  ['prepare q as delete from t', { type: 'prepare', writes: ['t'], read_only: false }],
  ['execute q(1)', { type: 'execute', read_only: false }],
  ['declare c cursor for select * from t', { type: 'declare', reads: ['t'], read_only: true }],
  ['fetch 10 from c', { type: 'fetch', read_only: true }],
  ['move 10 in c', { type: 'move', read_only: true }],
  ['close c', { type: 'close', read_only: true }],
  ['listen ch', { type: 'listen', read_only: false }],
  ["notify ch, 'x'", { type: 'notify', read_only: false }],
  ['discard all', { type: 'discard', read_only: false }],
  ['checkpoint', { type: 'checkpoint', read_only: false }],
];

describe('analyzeSqlSync: one statement', () => {
  for (const [sql, expected] of CASES) {
    it(sql, () => {
      const s = one(sql);
      // reads, writes and functions are sets: their order carries no meaning.
      const sorted = (x: SqlStatementAnalysis | Expect): Expect => ({
        ...x,
        ...(x.reads && { reads: [...x.reads].sort() }),
        ...(x.writes && { writes: [...x.writes].sort() }),
        ...(x.functions && { functions: [...x.functions].sort() }),
      });
      expect(sorted(s)).toMatchObject(sorted(expected));
      expect(s.text).toBe(sql);
    });
  }
});

describe('analyzeSqlSync: texts', () => {
  it('splits multi-statement strings and slices each text by its UTF-8 byte offsets', () => {
    const sql = "select 'é' ;  delete from t where a = 'ü';\n/* c */ update x set a = 1; ";
    const a = analyzeSqlSync(sql);
    expect(a.text).toBe(sql);
    expect(a.parse_error).toBeNull();
    expect(a.statements.map((s) => [s.type, s.text])).toEqual([
      ['select', "select 'é'"],
      ['delete', "delete from t where a = 'ü'"],
      ['update', '/* c */ update x set a = 1'],
    ]);
    expect(analyzeSqlSync('select 1;;select 2').statements.map((s) => s.text)).toEqual([
      'select 1',
      'select 2',
    ]);
  });

  it('begin; …; commit keeps each statement separate', () => {
    const a = analyzeSqlSync('BEGIN; UPDATE accounts SET b = b - 1 WHERE id = 1; COMMIT;');
    expect(a.statements.map((s) => [s.type, s.read_only, s.has_where])).toEqual([
      ['begin', true, false],
      ['update', false, true],
      ['commit', true, false],
    ]);
  });

  it('empty and comment-only texts have no statements and no error', () => {
    for (const sql of ['', '   ', ';', ' ; ; ', '-- just a comment', '/* c */']) {
      expect(analyzeSqlSync(sql)).toEqual({ text: sql, statements: [], parse_error: null });
    }
  });

  it('syntax errors give parse_error and no statements, never an exception', () => {
    expect(analyzeSqlSync('selec 1')).toEqual({
      text: 'selec 1',
      statements: [],
      parse_error: 'syntax error at or near "selec"',
    });
    expect(analyzeSqlSync('select 1; select from from').parse_error).toMatch(/syntax error/);
    expect(analyzeSqlSync("select 'unterminated").parse_error).toMatch(/unterminated/);
    expect(analyzeSqlSync('select (((1').parse_error).toMatch(/syntax error/);
  });

  it('refuses a NUL character (the C parser would only see the text before it)', () => {
    expect(analyzeSqlSync('select 1\0; drop table t')).toEqual({
      text: 'select 1\0; drop table t',
      statements: [],
      parse_error: 'SQL text contains a NUL character',
    });
  });

  it('refuses absurdly nested statements with a parse_error instead of overflowing the stack', () => {
    const deep = 'select ' + '('.repeat(3000) + '1' + ')'.repeat(3000);
    const a = analyzeSqlSync(deep);
    expect(a.statements).toEqual([]);
    expect(a.parse_error).not.toBeNull();
  });

  it('analyzeSql (async) gives the same result', async () => {
    const sql = 'select * from t; delete from u';
    expect(await analyzeSql(sql)).toEqual(analyzeSqlSync(sql));
  });

  it('measures the per-statement analysis time', () => {
    const samples = [
      'select 1',
      "select * from customers c join public.orders o on o.cid = c.id where c.id = 1 and o.created_at > now() - interval '1 day' order by o.id limit 50",
      'with d as (delete from t where a = 1 returning *) insert into archive select * from d',
    ];
    for (const sql of samples) {
      for (let i = 0; i < 50; i++) analyzeSqlSync(sql);
      const n = 500;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) analyzeSqlSync(sql);
      const us = Number(process.hrtime.bigint() - t0) / n / 1000;
      expect(us).toBeGreaterThan(0);
    }
  });
});
