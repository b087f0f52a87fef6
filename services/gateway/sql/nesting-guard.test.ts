import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSqlSync } from './analyze-sql.js';
import { estimateNestingDepth, MAX_NESTING_ESTIMATE } from './nesting-guard.js';
import { loadSqlParser } from './pg-parser.js';

beforeAll(async () => {
  await loadSqlParser();
});

/**
 * Constructs that overflow libpg_query's WebAssembly stack, with the first failing repetition count measured
 * against @pgsql/parser 17.5.0 (one process per probe: the failures are traps, exit(1) or endless loops).
 */
const CONSTRUCTS: [name: string, gen: (n: number) => string, firstFailure: number][] = [
  ['nested subqueries', (n) => 'select ' + '(select '.repeat(n) + '1' + ')'.repeat(n), 177],
  ['nested EXISTS', (n) => 'select ' + 'exists (select '.repeat(n) + '1' + ')'.repeat(n), 177],
  ['nested ARRAY(subquery)', (n) => 'select ' + 'array(select '.repeat(n) + '1' + ')'.repeat(n), 177],
  [
    'UPDATE with nested subqueries',
    (n) => 'update t set a = ' + '(select '.repeat(n) + '1' + ')'.repeat(n),
    177,
  ],
  [
    'nested window subqueries',
    (n) => 'select ' + 'sum((select '.repeat(n) + '1' + ')) over ()'.repeat(n),
    120,
  ],
  [
    'nested WITH',
    (n) => 'with recursive ' + 'a as (with '.repeat(n) + 'b as (select 1) select 1' + ') select 1'.repeat(n),
    199,
  ],
  [
    'nested IN subqueries',
    (n) => 'select 1 where a in ' + '(select b from t where c in '.repeat(n) + '(1)' + ')'.repeat(n),
    236,
  ],
  [
    'nested derived tables',
    (n) => 'select * from ' + '(select * from '.repeat(n) + 't' + ') s'.repeat(n),
    265,
  ],
  ['nested CASE', (n) => 'select ' + 'case when true then '.repeat(n) + '1' + ' end'.repeat(n), 286],
  ['nested AND/OR groups', (n) => 'select 1 where ' + '(a or (b and '.repeat(n) + 'c' + '))'.repeat(n), 287],
  ['nested IN lists', (n) => 'select ' + 'a in ('.repeat(n) + '1' + ')'.repeat(n), 332],
  ['nested function calls', (n) => 'select ' + 'lower('.repeat(n) + "'x'" + ')'.repeat(n), 370],
  ['AT TIME ZONE chain', (n) => 'select now()' + " at time zone 'utc'".repeat(n), 369],
  ['IS NULL chain', (n) => 'select 1' + ' is null'.repeat(n), 508],
  ['IS TRUE chain', (n) => 'select a' + ' is true'.repeat(n), 580],
  ['JOIN chain', (n) => 'select * from t0' + ' join t on true'.repeat(n), 510],
  ['subscripts', (n) => 'select ' + 'a['.repeat(n) + '1' + ']'.repeat(n), 510],
  ['+ chain', (n) => 'select 1' + '+1'.repeat(n), 581],
  ['|| chain', (n) => "select 'a'" + " || 'a'".repeat(n), 581],
  ['-> chain', (n) => 'select j' + " -> 'a'".repeat(n), 581],
  ['NOT chain', (n) => 'select ' + 'not '.repeat(n) + 'true', 581],
  ['unary minus chain', (n) => 'select ' + '- '.repeat(n) + 'a', 581],
  ['unary @ chain', (n) => 'select ' + '@ '.repeat(n) + 'a', 581],
  ['cast chain', (n) => 'select 1' + '::int'.repeat(n), 670],
  ['nested CAST', (n) => 'select ' + 'cast('.repeat(n) + '1' + ' as int)'.repeat(n), 668],
  ['nested ARRAY[]', (n) => 'select ' + 'array['.repeat(n) + '1' + ']'.repeat(n), 668],
  ['COLLATE chain', (n) => "select 'a'" + ' collate "C"'.repeat(n), 677],
  ['UNION chain', (n) => 'select 1' + ' union select 1'.repeat(n), 1000],
  ['nested json_object', (n) => 'select ' + "json_object('a' : ".repeat(n) + '1' + ')'.repeat(n), 250],
  ['nested xmlelement', (n) => 'select ' + 'xmlelement(name a, '.repeat(n) + '1' + ')'.repeat(n), 370],
  [
    'nested grouping sets',
    (n) => 'select 1 from t group by grouping sets ' + '(a, ('.repeat(n) + 'b' + '))'.repeat(n),
    499,
  ],
];

/** Largest n whose estimate stays within the limit (estimates grow with n). */
function largestAccepted(gen: (n: number) => string): number {
  let n = 1;
  while (estimateNestingDepth(gen(n + 1)) <= MAX_NESTING_ESTIMATE) n++;
  return n;
}

describe('nesting guard', () => {
  for (const [name, gen, firstFailure] of CONSTRUCTS) {
    it(`${name}: refused well before the parser fails, accepted inputs parse`, () => {
      // At the measured failure the estimate is at least twice the limit…
      expect(estimateNestingDepth(gen(firstFailure))).toBeGreaterThanOrEqual(2 * MAX_NESTING_ESTIMATE);
      // …so everything accepted is at most half as deep as what breaks the parser, and parses.
      const n = largestAccepted(gen);
      expect(n).toBeLessThanOrEqual(firstFailure / 2);
      const ok = analyzeSqlSync(gen(n));
      expect(ok.parse_error).toBeNull();
      const refused = analyzeSqlSync(gen(firstFailure));
      expect(refused.statements).toEqual([]);
      expect(refused.parse_error).toMatch(/nesting too deep to analyse \(estimate \d+, limit 250\)/);
    });
  }

  it('typical statements estimate far below the limit', () => {
    const typical = [
      "select * from customers c join public.orders o on o.cid = c.id where c.id = 1 and o.created_at > now() - interval '1 day' order by o.id limit 50",
      'SELECT "t"."id", "t"."name", "t"."type" FROM "public"."things" AS "t" WHERE ("t"."a" = $1) AND ("t"."b" IS NOT NULL) ORDER BY "t"."id" DESC LIMIT 20',
      'select ' + Array.from({ length: 300 }, (_, i) => `c${i} as x${i}`).join(', ') + ' from t',
      'select * from t where ' + Array.from({ length: 60 }, (_, i) => `c${i} = ${i}`).join(' and '),
      'insert into t values ' + Array.from({ length: 5000 }, (_, i) => `(${i}, 'x', null)`).join(', '),
      'select case ' +
        Array.from({ length: 500 }, (_, i) => `when a = ${i} then ${i}`).join(' ') +
        ' else 0 end from t',
      'select * from t where id in (' + Array.from({ length: 10000 }, (_, i) => i).join(',') + ')',
    ];
    for (const sql of typical) expect(estimateNestingDepth(sql)).toBeLessThan(80);
  });

  it('ignores what the lexer ignores: strings, identifiers, comments, dollar quotes', () => {
    const parens = '('.repeat(2000);
    expect(estimateNestingDepth(`select '${parens}'`)).toBeLessThan(10);
    expect(estimateNestingDepth(`select E'\\'${parens}'`)).toBeLessThan(10);
    expect(estimateNestingDepth(`select "${parens}"`)).toBeLessThan(10);
    expect(estimateNestingDepth(`select 1 -- ${parens}\n`)).toBeLessThan(10);
    expect(estimateNestingDepth(`select 1 /* /* ${parens} */ ${parens} */`)).toBeLessThan(10);
    expect(estimateNestingDepth(`select $$${parens}$$, $body$ $$ ${parens} $body$`)).toBeLessThan(10);
    expect(estimateNestingDepth(`select U&'${parens}'`)).toBeLessThan(10);
  });

  it('counts what the lexer does not hide', () => {
    const parens = '('.repeat(2000);
    // A backslash does not escape a quote in a standard string: the parentheses are code.
    expect(estimateNestingDepth(`select 'a\\' ${parens}`)).toBeGreaterThan(1000);
    // x$a$ is an identifier, not the start of a dollar quote.
    expect(estimateNestingDepth(`select x$a$ ${parens} $a$`)).toBeGreaterThan(1000);
    // -- inside an operator run starts a comment; the run before it still counts.
    expect(estimateNestingDepth('select 1 +-- c\n' + '+1'.repeat(600))).toBeGreaterThan(600);
    // Statements are bounded separately.
    const deep = 'select ' + 'not '.repeat(200) + 'true';
    expect(estimateNestingDepth(`${deep}; ${deep}`)).toBe(estimateNestingDepth(deep));
  });
});
