import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSqlSync, loadSqlParser } from '../sql/index.js';
import { BackendCode } from '../../shared/pg-wire/index.js';
import { NameRegistry } from './name-registry.js';
import { effectsOf, protocolUse, resolveStatements } from './name-resolution.js';
import { boundText } from './sql-decider.js';

beforeAll(async () => {
  await loadSqlParser();
});

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);
const ok = (r: NameRegistry, tag: string): void => r.onBackend(BackendCode.CommandComplete, cstr(tag));
const ready = (r: NameRegistry, status: 'I' | 'T' | 'E'): void =>
  r.onBackend(BackendCode.ReadyForQuery, Buffer.from(status));
const error = (r: NameRegistry): void => r.onBackend(BackendCode.ErrorResponse, Buffer.from('SERROR\0\0'));

/** Forwards `sql` as a simple Query: resolves it and queues its effects, as the session does. */
function query(r: NameRegistry, sql: string) {
  const statements = resolveStatements(analyzeSqlSync(sql).statements, r);
  r.expectQuery(statements.map(effectsOf));
  return statements;
}

describe('NameRegistry + resolution', () => {
  it('EXECUTE of a prepared DELETE is decided as that DELETE, after the server confirmed the PREPARE', () => {
    const r = new NameRegistry(10);
    query(r, 'PREPARE p AS DELETE FROM t');
    ok(r, 'PREPARE');
    ready(r, 'I');
    const [s] = query(r, 'EXECUTE p');
    expect(s).toMatchObject({
      type: 'delete',
      has_where: false,
      writes: ['t'],
      read_only: false,
      text: 'EXECUTE p',
    });
    expect(s?.name_ref).toMatchObject({ op: 'execute', name: 'p', known: true });
  });

  it('what an approval binds to includes the statement behind the name', () => {
    const r = new NameRegistry(10);
    query(r, 'PREPARE p AS DELETE FROM t WHERE id = 1');
    ok(r, 'PREPARE');
    ready(r, 'I');
    const statements = query(r, 'EXECUTE p');
    expect(boundText('EXECUTE p', { text: 'EXECUTE p', statements, parse_error: null })).toBe(
      'EXECUTE p\n-- gatehouse: statement "p" is: DELETE FROM t WHERE id = 1',
    );
  });

  it('a PREPARE the server refused is not recorded: the old statement stays', () => {
    const r = new NameRegistry(10);
    query(r, 'PREPARE p AS DELETE FROM t');
    ok(r, 'PREPARE');
    ready(r, 'I');
    query(r, 'PREPARE p AS SELECT 1'); // the server refuses: p exists
    error(r);
    ready(r, 'I');
    expect(r.statementFor('p')?.analysis?.type).toBe('delete');
  });

  it('a statement after a failed one in the same Query has no effect', () => {
    const r = new NameRegistry(10);
    query(r, 'SELECT 1/0; PREPARE p AS DELETE FROM t');
    error(r);
    ready(r, 'I');
    expect(r.statementCandidates('p')).toEqual([]);
  });

  it('an unknown name is decided as opaque', () => {
    const r = new NameRegistry(10);
    const [s] = query(r, 'FETCH ALL FROM "<unnamed portal 1>"');
    expect(s).toMatchObject({ opaque: true, ddl: true, read_only: false, name_ref: { known: false } });
  });

  it('names created earlier in the same text are used, dropped ones are unknown', () => {
    const r = new NameRegistry(10);
    const s = query(r, 'PREPARE q AS UPDATE t SET a = 1; EXECUTE q; DEALLOCATE ALL; EXECUTE q');
    expect(s[1]).toMatchObject({ type: 'update', has_where: false });
    expect(s[3]).toMatchObject({ opaque: true, name_ref: { known: false } });
  });

  it('a pipelined, unconfirmed re-creation only adds candidates', () => {
    const r = new NameRegistry(10);
    query(r, 'PREPARE p AS SELECT 1');
    ok(r, 'PREPARE');
    ready(r, 'I');
    query(r, 'DEALLOCATE p'); // not yet answered
    query(r, 'PREPARE p AS DELETE FROM t'); // not yet answered
    const types = r.statementCandidates('p').map((e) => e.analysis?.type);
    expect(types.sort()).toEqual(['delete', 'select']);
    const policyInput = query(r, 'EXECUTE p');
    expect(policyInput.map((x) => x.type).sort()).toEqual(['delete', 'select']);
  });

  it('cursors die at the end of their transaction unless WITH HOLD (and the transaction committed)', () => {
    const r = new NameRegistry(10);
    query(r, 'BEGIN');
    ok(r, 'BEGIN');
    ready(r, 'T');
    query(r, 'DECLARE a CURSOR FOR SELECT 1; DECLARE h CURSOR WITH HOLD FOR SELECT 2');
    ok(r, 'DECLARE CURSOR');
    ok(r, 'DECLARE CURSOR');
    ready(r, 'T');
    expect(r.portalFor('a')?.cursor).toBe(true);
    query(r, 'COMMIT');
    ok(r, 'COMMIT');
    ready(r, 'I');
    expect(r.portalFor('a')).toBeUndefined();
    expect(r.portalFor('h')?.statement.text).toBe('SELECT 2');
    query(r, 'BEGIN; DECLARE h2 CURSOR WITH HOLD FOR SELECT 3');
    ok(r, 'BEGIN');
    ok(r, 'DECLARE CURSOR');
    ready(r, 'T');
    query(r, 'ROLLBACK');
    ok(r, 'ROLLBACK');
    ready(r, 'I');
    expect(r.portalFor('h2')).toBeUndefined();
    expect(r.portalFor('h')).toBeDefined();
  });

  it('extended protocol: an error drops everything up to Sync; in-batch lookups see the batch', () => {
    const r = new NameRegistry(10);
    const entry = {
      text: 'DELETE FROM t',
      analysis: null,
      verdict: null,
      origin: 'protocol' as const,
      fields: null,
    };
    r.expect('parse', [{ t: 'statement+', name: 's1', entry }]);
    expect(r.statementFor('s1')).toBe(entry); // same batch: definite
    r.expect('bind');
    r.expect('execute');
    r.expectSync();
    error(r);
    ready(r, 'I');
    expect(r.statementFor('s1')).toBeUndefined();
    r.expect('parse', [{ t: 'statement+', name: 's1', entry }]);
    r.onBackend(BackendCode.ParseComplete, Buffer.alloc(0));
    expect(r.statementFor('s1')).toBe(entry);
  });

  it('a protocol Bind of a SQL-prepared statement is decided as that statement', () => {
    const r = new NameRegistry(10);
    query(r, 'PREPARE p AS DELETE FROM t');
    ok(r, 'PREPARE');
    ready(r, 'I');
    const use = protocolUse(
      'execute',
      'p',
      r.statementCandidates('p').map((e) => e.analysis),
      r,
    );
    expect(use.statements).toHaveLength(1);
    expect(use.statements[0]).toMatchObject({
      type: 'delete',
      has_where: false,
      name_ref: { name: 'p', known: true },
    });
    const unknown = protocolUse('fetch', 'zz', [], r);
    expect(unknown.statements[0]).toMatchObject({ opaque: true, name_ref: { known: false } });
  });

  it('is bounded: creations beyond the maximum are refused before they are forwarded', () => {
    const r = new NameRegistry(2);
    const effects = (sql: string) => analyzeSqlSync(sql).statements.flatMap(effectsOf);
    expect(r.wouldExceed(effects('PREPARE a AS SELECT 1; PREPARE b AS SELECT 1'))).toBe(false);
    expect(
      r.wouldExceed(effects('PREPARE a AS SELECT 1; PREPARE b AS SELECT 1; PREPARE c AS SELECT 1')),
    ).toBe(true);
  });

  it('answers that do not match the model make it forget every name', () => {
    const r = new NameRegistry(10);
    query(r, 'PREPARE p AS SELECT 1');
    ok(r, 'PREPARE');
    ready(r, 'I');
    r.onBackend(BackendCode.BindComplete, Buffer.alloc(0)); // nothing expected a BindComplete
    expect(r.lost).toBe(true);
    expect(r.statementCandidates('p')).toEqual([]);
  });
});
