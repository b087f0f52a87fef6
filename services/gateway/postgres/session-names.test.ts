import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import {
  allow,
  deny,
  undefinedColumn,
  useSessionHarness,
} from '../../../dev/pg-session-fixtures/session-harness.js';
import type { Policy } from '../../../dev/pg-session-fixtures/session-harness.js';
import {
  commandComplete,
  errorResponse,
  parameterStatus,
  readyForQuery,
} from '../../shared/pg-wire/index.js';

/*
 * The session's name tracking below any client: a socket pair to the session's client side, a fake upstream
 * server speaking bytes, and a decider that records the (resolved) analysis it was asked to decide.
 */

const start = useSessionHarness();

const deleteWithoutWhere: Policy = (_sql, _kind, a) =>
  a.statements.some((s) => s.type === 'delete' && !s.has_where) ? deny('DELETE without WHERE') : allow();

describe('PgSession names (byte level)', () => {
  it('EXECUTE of a prepared DELETE is decided as that DELETE once the server confirmed the PREPARE', async () => {
    const t = await start({ policy: deleteWithoutWhere });
    t.client.write(serialize.query('PREPARE p AS DELETE FROM t'));
    await t.backend.untilUnits(1);
    t.backend.write(commandComplete('PREPARE'), readyForQuery('I'));
    await t.client.untilReady();
    expect(t.session.names.statementFor('p')?.analysis?.type).toBe('delete');

    t.client.write(serialize.query('EXECUTE p'));
    await t.backend.untilUnits(2);
    const [token] = t.backend.tokens();
    t.backend.write(undefinedColumn(token!), readyForQuery('I'));
    await t.client.untilReady(2);
    expect(t.client.bytes().toString('latin1')).toContain('DELETE without WHERE');
    expect(t.client.bytes().toString('latin1')).toContain('42501');
    expect(t.backend.bytes().toString('latin1')).not.toContain('EXECUTE p');
    expect(t.decided.at(-1)?.analysis.statements[0]).toMatchObject({
      type: 'delete',
      name_ref: { op: 'execute', known: true },
    });
  });

  it('a PREPARE the server failed is not recorded', async () => {
    const t = await start({ policy: deleteWithoutWhere });
    t.client.write(serialize.query('PREPARE q AS SELECT 1'));
    await t.backend.untilUnits(1);
    t.backend.write(
      errorResponse({ severity: 'ERROR', code: '25P02', message: 'aborted' }),
      readyForQuery('E'),
    );
    await t.client.untilReady();
    expect(t.session.names.statementCandidates('q')).toEqual([]);
  });

  it('beyond maxNames a new name is refused with 54000 and never forwarded', async () => {
    const t = await start({ policy: deleteWithoutWhere, limits: { maxNames: 1 } });
    t.client.write(serialize.query('PREPARE a AS SELECT 1'));
    await t.backend.untilUnits(1);
    t.backend.write(commandComplete('PREPARE'), readyForQuery('I'));
    await t.client.untilReady();
    t.client.write(serialize.query('PREPARE b AS SELECT 2'));
    await t.backend.untilUnits(2);
    const [token] = t.backend.tokens();
    t.backend.write(undefinedColumn(token!), readyForQuery('I'));
    await t.client.untilReady(2);
    expect(t.client.bytes().toString('latin1')).toContain('too many prepared statements');
    expect(t.client.bytes().toString('latin1')).toContain('54000');
    expect(t.backend.bytes().toString('latin1')).not.toContain('PREPARE b');
  });

  it('a ParameterStatus that unpins standard_conforming_strings ends the session with FATAL 42501', async () => {
    const t = await start({ policy: deleteWithoutWhere });
    t.backend.write(parameterStatus('standard_conforming_strings', 'off'));
    await expect(t.closed).resolves.toBe('pinned setting changed');
    await t.client.untilClosed();
    const got = t.client.bytes().toString('latin1');
    expect(got).toContain('standard_conforming_strings=off');
    expect(got).toContain('FATAL');
    expect(got).toContain('42501');
  });
});
