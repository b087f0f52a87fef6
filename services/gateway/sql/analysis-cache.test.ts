import { beforeAll, describe, expect, it } from 'vitest';
import { SqlAnalysisCache } from './analysis-cache.js';
import { analyzeSqlSync } from './analyze-sql.js';
import { loadSqlParser } from './pg-parser.js';

beforeAll(async () => {
  await loadSqlParser();
});

describe('SqlAnalysisCache', () => {
  it('returns the same frozen analysis for the same text', () => {
    const cache = new SqlAnalysisCache();
    const a = cache.analyze('select * from t');
    expect(a).toEqual(analyzeSqlSync('select * from t'));
    expect(cache.analyze('select * from t')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.statements[0]!.reads)).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('evicts the least recently used entry', () => {
    const cache = new SqlAnalysisCache({ maxEntries: 2 });
    const a = cache.analyze('select 1');
    cache.analyze('select 2');
    expect(cache.analyze('select 1')).toBe(a); // 1 is now the most recent
    cache.analyze('select 3'); // evicts 2
    expect(cache.size).toBe(2);
    expect(cache.analyze('select 1')).toBe(a);
    const b = cache.analyze('select 2');
    expect(cache.analyze('select 2')).toBe(b);
  });

  it('does not keep long texts, and caches parse errors too', () => {
    const cache = new SqlAnalysisCache({ maxTextLength: 10 });
    cache.analyze('select * from a_long_table_name');
    expect(cache.size).toBe(0);
    const err = cache.analyze('selec 1');
    expect(err.parse_error).toMatch(/syntax error/);
    expect(cache.analyze('selec 1')).toBe(err);
    expect(() => new SqlAnalysisCache({ maxEntries: 0 })).toThrow(RangeError);
  });

  it('a hit costs far less than a parse', () => {
    const cache = new SqlAnalysisCache();
    const sql = 'select c.id, count(o.*) from customers c left join orders o on o.cid = c.id group by 1';
    cache.analyze(sql);
    const n = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) cache.analyze(sql);
    const hitUs = Number(process.hrtime.bigint() - t0) / n / 1000;
    expect(hitUs).toBeLessThan(20);
  });
});
