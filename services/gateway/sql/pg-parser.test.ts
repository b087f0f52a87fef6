import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeSqlSync } from './analyze-sql.js';
import { SqlParserNotLoadedError } from './errors.js';
import { fingerprintSql, isSqlParserLoaded, loadSqlParser, normalizeSql } from './pg-parser.js';

describe('SQL parser binding', () => {
  it('the synchronous API refuses to run before loadSqlParser()', () => {
    expect(isSqlParserLoaded()).toBe(false);
    expect(() => analyzeSqlSync('select 1')).toThrow(SqlParserNotLoadedError);
    expect(() => fingerprintSql('select 1')).toThrow(SqlParserNotLoadedError);
  });

  it('loads once and parses', async () => {
    await Promise.all([loadSqlParser(), loadSqlParser()]);
    expect(isSqlParserLoaded()).toBe(true);
    expect(analyzeSqlSync('select 1').statements).toHaveLength(1);
  });

  it('keeps text containing ERROR (the package wrapper mistakes it for a failure)', () => {
    const a = analyzeSqlSync(`select 'ERROR', "ERROR" from t`);
    expect(a.parse_error).toBeNull();
    expect(a.statements[0]?.reads).toEqual(['t']);
    expect(normalizeSql(`select 'ERROR' from t`)).toBe('select $1 from t');
  });

  it('reports the parser message for lexer errors', () => {
    expect(analyzeSqlSync("select 'open").parse_error).toBe('unterminated quoted string at or near "\'open"');
    expect(analyzeSqlSync('select $x$ open').parse_error).toMatch(/unterminated dollar-quoted string/);
    expect(analyzeSqlSync('select 1 /* open').parse_error).toMatch(/unterminated \/\* comment/);
  });

  it('fingerprints ignore constants and layout; normalize replaces constants', () => {
    const a = fingerprintSql('select * from t where a = 1');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintSql('SELECT *\n  FROM t WHERE a = 42 -- c')).toBe(a);
    expect(fingerprintSql('select * from t where b = 1')).not.toBe(a);
    expect(fingerprintSql('selec 1')).toBeNull();
    expect(fingerprintSql('')).toBeNull();
    expect(fingerprintSql('select 1\0')).toBeNull();
    expect(normalizeSql("select * from t where a = 1 and b = 'x'")).toBe(
      'select * from t where a = $1 and b = $2',
    );
    expect(normalizeSql('selec 1')).toBeNull();
    expect(normalizeSql('')).toBeNull();
  });

  it('fails closed when the parser traps, and recovers with a fresh instance', () => {
    const script = fileURLToPath(new URL('./fixtures/trap-recovery.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({
      trapped: true,
      duringError: 'the SQL parser is restarting',
      transient: true,
      cachedDuring: 0,
      cachedAfter: 1,
      afterReads: ['t'],
      exitCode: 0,
    });
  }, 70_000);
});
