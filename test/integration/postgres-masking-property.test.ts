import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgClient } from '../support/clients.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { directRows, isMaskedValue, leaks, texts, topicRecords } from '../support/pg-masking.js';

/*
 * Random expressions over masked columns, from a small grammar of functions, operators, casts, subqueries and
 * whole-row references: whatever the expression, the gateway returns it masked whole (never a raw or derived
 * value), in text and in binary result format, and nothing derived reaches the session topic.
 */

const MASKED = ['c.email', 'c.phone', 'c.ssn', 'c.card_number'];

const leaf = fc.constantFrom(...MASKED);

/** Unary wrappers, text to text: `%` is the inner expression. */
const WRAPPERS = [
  'lower(%)',
  'upper(%)',
  'reverse(%)',
  'substr(%, 2, 6)',
  "% || '!'",
  "'x' || %",
  "concat(%, '-')",
  "coalesce(%, '')",
  'trim(%)',
  "translate(%, 'aeiou0123', 'AEIOU4567')",
  "replace(%, '@', ' at ')",
  "split_part(%, '@', 1)",
  'left(%, 5)',
  'right(%, 5)',
  "lpad(%, 24, '.')",
  'initcap(%)',
  '(%)::varchar',
  "case when length(%) > 0 then % else 'none' end",
  'to_json(%)::text',
  'array[%]::text',
  'row(%, 1)::text',
  '(select % limit 1)',
  "encode(convert_to(%, 'UTF8'), 'base64')",
  "encode(convert_to(%, 'UTF8'), 'hex')",
  "convert_to(%, 'UTF8')::text",
  "jsonb_build_object('v', %)::text",
  'md5(%)',
  "regexp_replace(%, '[0-9]', '#', 'g')",
];

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(fc.constantFrom(...WRAPPERS), tie('e')).map(([w, e]) => w.replaceAll('%', e)),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `${a}::text || ${b}::text`),
  ),
})).e;

/** The statement shape around the expression. */
const shapes: ((e: string) => string)[] = [
  (e) => `select ${e} from customers c order by c.id limit 2`,
  (e) => `select x from (select ${e} as x, c.id from customers c) s order by s.id limit 2`,
  (e) => `with w as (select ${e} as x, c.id from customers c) select x from w order by id limit 2`,
  (e) => `select string_agg((${e})::text, ',') from (select * from customers order by id limit 2) c`,
  (e) => `select max((${e})::text) from customers c`,
  (e) => `select (${e})::text from customers c where c.id = 1 union all select 'x'`,
  (e) => `select t.v from customers c, lateral (select ${e} as v) t order by c.id limit 2`,
  (e) => `select convert_to(${e}, 'UTF8') from customers c order by c.id limit 2`,
  (e) => `select to_jsonb(${e}) from customers c order by c.id limit 2`,
];

let fx: GatewayFixture;
let text: pg.Client;
let binary: pg.Client;
const derived = new Set<string>();

beforeAll(async () => {
  fx = await startGatewayFixture();
  const token = await fx.idp.issueToken({
    user: 'carol',
    email: 'carol@example.com',
    groups: ['engineering'],
  });
  text = await pgClient(fx.pgPort, 'demo-pg', token);
  const config: pg.ClientConfig & { binary: boolean } = {
    host: '127.0.0.1',
    port: fx.pgPort,
    database: 'demo-pg',
    user: 'gatehouse',
    password: token,
    ssl: { rejectUnauthorized: false },
    binary: true,
  };
  binary = new pg.Client(config);
  await binary.connect();
});

afterAll(async () => {
  await text?.end();
  await binary?.end();
  await fx?.stop();
});

describe('property: no expression over masked columns returns a raw value', () => {
  it('random expressions, statement shapes and result formats', async () => {
    await fc.assert(
      fc.asyncProperty(
        expr,
        fc.integer({ min: 0, max: shapes.length - 1 }),
        fc.boolean(),
        async (e, shape, useBinary) => {
          const sql = shapes[shape]!(e);
          const raw = await directRows(sql);
          const got = (await (useBinary ? binary : text).query<unknown[]>({ text: sql, rowMode: 'array' }))
            .rows;
          expect(got).toHaveLength(raw.length);
          for (const row of got) expect(isMaskedValue(row[0]), `${sql} gave ${String(row[0])}`).toBe(true);
          const values = raw.flatMap((row) => texts(row[0])).filter((v) => v.length >= 6 && v !== 'x');
          for (const v of values) derived.add(v);
          expect(leaks([JSON.stringify(got.map((row) => texts(row[0])))], values)).toEqual([]);
        },
      ),
      { numRuns: 50, seed: Number(process.env.FC_SEED ?? Date.now() % 1_000_000) },
    );
  });

  it('nothing derived reached the session topic', async () => {
    const records = await topicRecords(fx.sessionsTopic);
    expect(records.length).toBeGreaterThan(10);
    expect(leaks(records, derived)).toEqual([]);
  });
});
