import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSqlSync, loadSqlParser } from '../sql/index.js';
import { PgClientError } from './errors.js';
import { pinnedStatusChange, pinnedViolations } from './pinned-settings.js';
import { PINNED_SETTINGS, vetStartupParameters } from './startup-params.js';

beforeAll(async () => {
  await loadSqlParser();
});

function refusal(params: Record<string, string>): { sqlstate: string; message: string } {
  try {
    vetStartupParameters({ user: 'u', database: 'd', ...params });
  } catch (err) {
    expect(err).toBeInstanceOf(PgClientError);
    const e = err as PgClientError;
    expect(e.severity).toBe('FATAL');
    return { sqlstate: e.sqlstate, message: e.message };
  }
  throw new Error('not refused');
}

describe('startup parameters', () => {
  it('forwards what psql, pg and JDBC send, and pins the lexing/encoding settings', () => {
    const v = vetStartupParameters({
      user: 'u',
      database: 'd',
      application_name: 'psql',
      client_encoding: 'UTF8',
      DateStyle: 'ISO',
      TimeZone: 'UTC',
      extra_float_digits: '3',
      intervalstyle: 'iso_8601',
      options: '',
      replication: 'false',
    });
    expect(v.upstream).toEqual({
      application_name: 'psql',
      DateStyle: 'ISO',
      TimeZone: 'UTC',
      extra_float_digits: '3',
      IntervalStyle: 'iso_8601',
      ...PINNED_SETTINGS,
    });
    expect([...v.dropped].sort()).toEqual(['options', 'replication']);
  });

  it.each(['utf8', 'UTF-8', 'unicode'])('client_encoding %s is UTF8', (enc) => {
    expect(vetStartupParameters({ client_encoding: enc }).upstream.client_encoding).toBe('UTF8');
  });

  it.each([
    [{ options: '-c standard_conforming_strings=off' }, '42501', 'startup parameter "options"'],
    [{ standard_conforming_strings: 'off' }, '42501', 'startup parameter "standard_conforming_strings"'],
    [{ Standard_Conforming_Strings: 'off' }, '42501', '"Standard_Conforming_Strings"'],
    [{ backslash_quote: 'on' }, '42501', '"backslash_quote"'],
    [{ bytea_output: 'escape' }, '42501', '"bytea_output"'],
    [{ search_path: 'evil, pg_catalog' }, '42501', '"search_path"'],
    [{ replication: 'database' }, '42501', '"replication"'],
    [{ client_encoding: 'SJIS' }, '22023', 'client_encoding "SJIS"'],
    [{ client_encoding: 'SQL_ASCII' }, '22023', 'client_encoding "SQL_ASCII"'],
    [{ '_pq_.compression': 'on' }, '08P01', '"_pq_.compression"'],
  ])('refuses %o', (params, sqlstate, fragment) => {
    const r = refusal(params);
    expect(r.sqlstate).toBe(sqlstate);
    expect(r.message).toContain(fragment);
  });
});

describe('pinned settings', () => {
  const reasons = (sql: string): string[] => pinnedViolations(analyzeSqlSync(sql).statements);

  it.each([
    'SET standard_conforming_strings = off',
    'SET LOCAL standard_conforming_strings TO off',
    "SET NAMES 'SJIS'",
    'SET client_encoding = latin1',
    'SET backslash_quote = on',
    'SET bytea_output = escape',
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    "SELECT set_config(lower('STANDARD_CONFORMING_STRINGS'), 'off', false)",
    "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS 'select 1'",
    'ALTER FUNCTION f() SET bytea_output = escape',
    'ALTER ROLE current_user SET standard_conforming_strings = off',
    'ALTER DATABASE d SET client_encoding = latin1',
    'SET standard_conforming_strings FROM CURRENT',
    'ALTER USER CURRENT_USER SET standard_conforming_strings = off',
    'ALTER PROCEDURE p() SET bytea_output = escape',
    'ALTER ROUTINE p SET backslash_quote = on',
    'ALTER SYSTEM SET client_encoding = latin1',
    "PREPARE p AS SELECT set_config('bytea_output', 'escape', false)",
  ])('refused: %s', (sql) => {
    expect(reasons(sql)).toHaveLength(1);
  });

  it.each([
    'SET standard_conforming_strings = on',
    "SET client_encoding = 'UTF8'",
    "SET NAMES 'utf-8'",
    'RESET ALL',
    'RESET standard_conforming_strings',
    'SET bytea_output TO DEFAULT',
    'DISCARD ALL',
    'SET statement_timeout = 1000',
    "SELECT set_config('application_name', 'x', false)",
  ])('allowed: %s', (sql) => {
    expect(reasons(sql)).toEqual([]);
  });

  it('names the parameter in the reason', () => {
    expect(reasons('SET standard_conforming_strings = off')[0]).toContain(
      'parameter "standard_conforming_strings" is pinned to "on"',
    );
  });

  it('spots a ParameterStatus that reports another value', () => {
    const ps = (n: string, v: string): Buffer => Buffer.from(`${n}\0${v}\0`);
    expect(pinnedStatusChange(ps('standard_conforming_strings', 'off'))).toContain(
      'standard_conforming_strings=off',
    );
    expect(pinnedStatusChange(ps('client_encoding', 'SJIS'))).toContain('client_encoding=SJIS');
    expect(pinnedStatusChange(ps('standard_conforming_strings', 'on'))).toBeNull();
    expect(pinnedStatusChange(ps('client_encoding', 'UTF8'))).toBeNull();
    expect(pinnedStatusChange(ps('TimeZone', 'UTC'))).toBeNull();
  });
});
