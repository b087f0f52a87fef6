import { beforeAll, describe, expect, it } from 'vitest';
import { SqlAnalysisCache } from '../analysis-cache.js';
import { loadSqlParser } from '../pg-parser.js';
import { EMPTY_CATALOG, LineageCache } from './lineage-cache.js';
import type { CatalogRelation, LineageCatalog } from './lineage-types.js';
import { maskPlan, unionMasks } from './mask-plan.js';

const rel = (schema: string, name: string, columns: string[], viewDefinition?: string): CatalogRelation => ({
  schema,
  name,
  columns,
  ...(viewDefinition !== undefined && { viewDefinition }),
});

const RELATIONS = [
  rel('public', 'customers', [
    'id',
    'full_name',
    'email',
    'phone',
    'ssn',
    'card_number',
    'city',
    'created_at',
  ]),
  rel('public', 'orders', ['id', 'customer_id', 'amount', 'status', 'created_at']),
  rel('public', 'v_contacts', ['id', 'contact'], 'SELECT c.id, lower(c.email) AS contact FROM customers c;'),
  rel('public', 'v_cities', ['city'], 'SELECT DISTINCT city FROM customers;'),
  rel('public', 'v_loop', ['x'], 'SELECT x FROM v_loop;'),
  rel('pg_catalog', 'pg_stats', ['schemaname', 'tablename', 'attname', 'most_common_vals']),
  rel('pg_catalog', 'pg_class', ['oid', 'relname']),
];

export const testCatalog: LineageCatalog = {
  version: 1,
  relations: (schema, name) =>
    RELATIONS.filter((r) => r.name === name && (schema === null ? true : r.schema === schema)),
  isBuiltinFunction: (name) => ['pg_get_keywords', 'generate_series'].includes(name),
};

const MASKED = ['customers.email', 'customers.phone', 'customers.ssn', 'customers.card_number'];
let cache: LineageCache;

function plan(sql: string, catalog: LineageCatalog = testCatalog) {
  const c = catalog === testCatalog ? cache : new LineageCache(new SqlAnalysisCache(), () => catalog);
  return maskPlan(c.analyze(sql), MASKED, (t) => c.analyze(t));
}
const outputs = (sql: string) => plan(sql)[0]!.outputs;

beforeAll(async () => {
  await loadSqlParser();
  cache = new LineageCache(new SqlAnalysisCache(), () => testCatalog);
});

describe('lineage-based masking', () => {
  it.each([
    ['select id, email from customers', [false, true]],
    ['select id, email e, city from customers c', [false, true, false]],
    ['select * from customers', [false, false, true, true, true, true, false, false]],
    [
      'select c.* from orders o join customers c on c.id = o.customer_id',
      [false, false, true, true, true, true, false, false],
    ],
    [
      "select email || 'x', substr(ssn, 1, 3), reverse(phone), translate(email, 'a', 'b') from customers",
      [true, true, true, true],
    ],
    [
      'select to_jsonb(c.*), row_to_json(c), c, row(c.id, c.email)::text, (c).city from customers c',
      [true, true, true, true, true],
    ],
    [
      "select string_agg(email, ','), array_agg(ssn), min(phone), max(card_number), count(*) from customers",
      [true, true, true, true, false],
    ],
    ['select (select email from customers limit 1), (select count(*) from orders)', [true, false]],
    ["select id, exists(select 1 from customers x where x.email like 'a%') from orders", [false, true]],
    ['with x as (select email as e, city from customers) select e, city from x', [true, false]],
    [
      'with recursive r(n, e) as (select 1, email from customers union all select n + 1, e from r where n < 2) select n from r',
      [true],
    ],
    ['select city from customers union select email from customers', [true]],
    ["select id, city from customers union all select 1, 'x'", [false, false]],
    ['select e from (select email e from customers) s', [true]],
    ['select t.x from customers c, lateral (select c.email as x) t', [true]],
    ['select id, contact from v_contacts', [false, true]],
    ['select city from v_cities', [false]],
    ["select case when email like 'a%' then 1 else 0 end, coalesce(ssn, '') from customers", [true, true]],
    ['select id, row_number() over (order by email) from customers', [false, true]],
    [
      'select * from customers join orders using (id)',
      [false, false, true, true, true, true, false, false, false, false, false, false],
    ],
    ['select x from customers, unnest(array[email]) x', [true]],
    ["select count(*) filter (where ssn like '1%') from customers", [true]],
    ['select most_common_vals from pg_stats', [true]],
    ['select relname from pg_class', [false]],
    ['select my_func(id) from customers', [true]],
    ["select query_to_xml('select email from customers', true, true, '')", [true]],
    ['values (1), (2)', [false]],
    [
      "select email::bytea, convert_to(ssn, 'UTF8'), encode(email::bytea, 'base64') from customers",
      [true, true, true],
    ],
  ])('%s', (sql, expected) => {
    expect(outputs(sql)).toEqual(expected);
  });

  it('RETURNING of writes carries what was written', () => {
    expect(
      outputs(
        'update orders set status = (select email from customers limit 1) where id = 1 returning id, status',
      ),
    ).toEqual([true, true]);
    expect(outputs('delete from customers where id = 1 returning id, ssn')).toEqual([false, true]);
    expect(
      outputs(
        'insert into orders (customer_id, amount, status) select id, 1, email from customers returning *',
      ),
    ).toEqual([true, true, true, true, true]);
  });

  it('unknown relations, views that loop and the empty catalog fail closed', () => {
    expect(outputs('select a from nowhere')).toEqual([true]);
    expect(outputs('select * from nowhere')).toBe('all');
    expect(outputs('select x from v_loop')).toEqual([true]);
    expect(plan('select id from customers', EMPTY_CATALOG)[0]!.outputs).toEqual([true]);
  });

  it('functions of unknown shape: width unknown, masked by what they read', () => {
    expect(outputs('select * from generate_series(1, 3)')).toBe('none');
    expect(outputs('select * from pg_get_keywords()')).toBe('none');
    expect(outputs('select * from customers c, json_each(row_to_json(c))')).toBe('all');
  });

  it('redacts server texts when a statement reads masked data anywhere', () => {
    expect(plan('select id from customers where email::int = 1')[0]).toEqual({
      outputs: [false],
      redact: true,
    });
    expect(plan("select id from customers where city = 'x'")[0]).toEqual({ outputs: [false], redact: false });
    expect(plan('begin')[0]).toEqual({ outputs: 'none', redact: false });
    expect(plan('show statement_timeout')[0]).toEqual({ outputs: 'none', redact: false });
    expect(
      plan("do $$ begin raise notice '%', (select email from customers limit 1); end $$")[0]!.redact,
    ).toBe(true);
  });

  it('EXECUTE and FETCH use the named statement, and are masked whole without a registry', () => {
    const c = cache;
    const resolve = (ref: { kind: string; name: string }) =>
      ref.name === 'p' ? ['PREPARE p AS SELECT id, email FROM customers'] : undefined;
    expect(maskPlan(c.analyze('execute p'), MASKED, (t) => c.analyze(t), resolve)[0]!.outputs).toEqual([
      false,
      true,
    ]);
    expect(maskPlan(c.analyze('execute q'), MASKED, (t) => c.analyze(t), resolve)[0]!.outputs).toBe('all');
    expect(maskPlan(c.analyze('fetch all from cur'), MASKED, (t) => c.analyze(t))[0]!.outputs).toBe('all');
    // An ambiguous name is masked by every candidate.
    const both = () => ['SELECT id, city FROM customers', 'SELECT email, id FROM customers'];
    expect(maskPlan(c.analyze('execute p'), MASKED, (t) => c.analyze(t), both)[0]!.outputs).toEqual([
      true,
      false,
    ]);
    expect(
      unionMasks({ outputs: [true], redact: false }, { outputs: [false, false], redact: false }).outputs,
    ).toBe('all');
    expect(unionMasks({ outputs: 'none', redact: false }, { outputs: [false, true], redact: true })).toEqual({
      outputs: [false, true],
      redact: true,
    });
  });

  it('lists every masked-column reference with its position for policy', () => {
    const refs = cache.analyze(
      "select email, lower(ssn) from customers c join orders o on o.customer_id = c.id where phone like '1%' group by 1, 2 order by card_number",
    ).analysis.statements[0]!.columns;
    const masked = refs.filter((r) => ['email', 'ssn', 'phone', 'card_number'].includes(r.column));
    expect(masked.map((r) => `${r.table}.${r.column}:${r.position}`).sort()).toEqual([
      'public.customers.card_number:order_by',
      'public.customers.email:group_by',
      'public.customers.email:select',
      'public.customers.phone:where',
      'public.customers.ssn:expression',
      'public.customers.ssn:group_by',
    ]);
    const alias = cache.analyze('select email as city from customers order by city').analysis.statements[0]!;
    expect(alias.columns).toContainEqual({
      table: 'public.customers',
      column: 'email',
      position: 'order_by',
    });
    const sub = cache.analyze("select e from (select email e from customers) s where e = 'x'").analysis
      .statements[0]!;
    expect(sub.columns).toContainEqual({ table: 'public.customers', column: 'email', position: 'where' });
  });
});
