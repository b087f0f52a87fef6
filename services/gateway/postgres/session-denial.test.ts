import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import {
  allow,
  deny,
  missingStatement,
  useSessionHarness,
  undefinedColumn,
} from '../../../dev/pg-session-fixtures/session-harness.js';
import type { Policy, SessionHarness } from '../../../dev/pg-session-fixtures/session-harness.js';
import {
  commandComplete,
  dataRow,
  errorResponse,
  readyForQuery,
  rowDescription,
} from '../../shared/pg-wire/index.js';

/*
 * The denial probe, byte for byte: a refused request is never forwarded; the session sends a probe in its place
 * (`SELECT "<token>"`, or a Bind of the statement "<token>" in the extended protocol), and swaps the error the
 * server answers it with — and only that error — for the policy's error.
 */

const start = useSessionHarness();

/** Refuses DELETE statements (by their analysis, as policy sees them), allows everything else. */
const noDeletes: Policy = (_sql, _kind, analysis) =>
  analysis.statements.some((s) => s.type === 'delete') ? deny('no deletes', 'ask a DBA') : allow();

function policyError(t: SessionHarness, requestId: number): Buffer {
  return errorResponse({
    severity: 'ERROR',
    code: '42501',
    message: 'gatehouse: no deletes; ask a DBA',
    detail: `session ${t.sessionId}, request ${requestId}, policy revision rev-1`,
  });
}

const ONE_ROW = [
  rowDescription([{ name: 'x', typeOid: 23 }]),
  dataRow(['1']),
  commandComplete('SELECT 1'),
  readyForQuery('I'),
];

describe('PgSession denial probe (simple query)', () => {
  it('forwards a probe instead of the refused query and swaps its error for the policy error', async () => {
    const t = await start({ policy: noDeletes });
    t.client.write(serialize.query('DELETE FROM accounts'));
    const [probe] = await t.backend.untilUnits(1);
    const [token] = t.backend.tokens();
    expect(probe!.raw).toEqual(serialize.query(`SELECT "${token}"`));
    expect(t.backend.bytes().toString('latin1')).not.toContain('accounts');

    t.backend.write(undefinedColumn(token!), readyForQuery('I'));
    await t.client.untilReady();
    expect(t.client.bytes()).toEqual(Buffer.concat([policyError(t, 1), readyForQuery('I')]));
    expect(t.publisher.responses()).toMatchObject([
      { requestId: 1, frame: 'error', code: '42501', text: 'gatehouse: no deletes; ask a DBA' },
    ]);
    expect(Buffer.from(t.publisher.responses()[0]!.data)).toEqual(policyError(t, 1));
    expect(t.decided.map((d) => [d.sql, d.kind])).toEqual([['DELETE FROM accounts', 'sql']]);
  });

  it('keeps pipelined queries in order around a refused one', async () => {
    const t = await start({ policy: noDeletes });
    t.client.write(
      serialize.query('SELECT 1'),
      serialize.query('DELETE FROM accounts'),
      serialize.query('SELECT 3'),
    );
    const sent = await t.backend.untilUnits(3);
    const [token] = t.backend.tokens();
    expect(sent.map((m) => m.raw)).toEqual([
      serialize.query('SELECT 1'),
      serialize.query(`SELECT "${token}"`),
      serialize.query('SELECT 3'),
    ]);
    const third = [rowDescription([{ name: 'x', typeOid: 23 }]), dataRow(['3']), commandComplete('SELECT 1')];
    t.backend.write(...ONE_ROW, undefinedColumn(token!), readyForQuery('I'), ...third, readyForQuery('I'));
    await t.client.untilReady(3);
    expect(t.client.bytes()).toEqual(
      Buffer.concat([...ONE_ROW, policyError(t, 2), readyForQuery('I'), ...third, readyForQuery('I')]),
    );
    const frames = t.publisher.responses().map((r) => [r.requestId, r.frame]);
    expect(frames).toEqual([
      [1, 'row_description'],
      [1, 'result'],
      [2, 'error'],
      [3, 'row_description'],
      [3, 'result'],
    ]);
  });

  it("passes the server's own error on the probe through unchanged (aborted transaction)", async () => {
    const t = await start({ policy: noDeletes });
    t.client.write(serialize.query('DELETE FROM accounts'));
    await t.backend.untilUnits(1);
    const aborted = errorResponse({
      severity: 'ERROR',
      code: '25P02',
      message: 'current transaction is aborted, commands ignored until end of transaction block',
    });
    t.backend.write(aborted, readyForQuery('E'));
    await t.client.untilReady();
    expect(t.client.bytes()).toEqual(Buffer.concat([aborted, readyForQuery('E')]));
    expect(t.publisher.responses()).toMatchObject([{ requestId: 1, frame: 'error', code: '25P02' }]);
  });

  it('refuses the fast-path FunctionCall protocol through a probe, whatever policy says', async () => {
    const t = await start();
    const call = Buffer.from([0x46, 0, 0, 0, 14, 0, 0, 0x04, 0xd2, 0, 0, 0, 0, 0, 0]); // oid 1234, no args
    t.client.write(call);
    const [probe] = await t.backend.untilUnits(1);
    const [token] = t.backend.tokens();
    expect(probe!.raw).toEqual(serialize.query(`SELECT "${token}"`));
    t.backend.write(undefinedColumn(token!), readyForQuery('I'));
    await t.client.untilReady();
    const refused = errorResponse({
      severity: 'ERROR',
      code: '42501',
      message: 'gatehouse: the fast-path function call protocol is not allowed',
      detail: '',
    });
    expect(t.client.bytes()).toEqual(Buffer.concat([refused, readyForQuery('I')]));
    expect(t.decided).toEqual([]);
  });
});

describe('PgSession denial probe (extended protocol)', () => {
  it('refuses a Parse with a Bind of the token, skips to Sync, and carries on after it', async () => {
    const t = await start({ policy: noDeletes });
    t.client.write(
      serialize.parse({ name: 's1', text: 'DELETE FROM accounts' }),
      serialize.bind({ portal: 'p1', statement: 's1' }),
      serialize.describe({ type: 'P', name: 'p1' }),
      serialize.execute({ portal: 'p1' }),
      serialize.sync(),
      serialize.query('SELECT 1'),
    );
    const sent = await t.backend.untilUnits(2);
    const [token] = t.backend.tokens();
    expect(sent.map((m) => m.raw)).toEqual([
      serialize.bind({ portal: '', statement: token, values: [] }),
      serialize.sync(),
      serialize.query('SELECT 1'),
    ]);
    t.backend.write(missingStatement(token!), readyForQuery('I'), ...ONE_ROW);
    await t.client.untilReady(2);
    expect(t.client.bytes()).toEqual(Buffer.concat([policyError(t, 1), readyForQuery('I'), ...ONE_ROW]));
    // The skipped Bind and Execute were never decided (the server would not have run them either).
    expect(t.decided.map((d) => [d.sql, d.kind])).toEqual([
      ['DELETE FROM accounts', 'sql.parse'],
      ['SELECT 1', 'sql'],
    ]);
    expect(t.session.names.statementCandidates('s1')).toEqual([]);
  });

  it('refuses a Bind of a SQL-prepared statement, decided as the statement behind the name', async () => {
    const t = await start({ policy: noDeletes });
    t.client.write(serialize.query('PREPARE d AS DELETE FROM accounts'));
    await t.backend.untilUnits(1);
    t.backend.write(commandComplete('PREPARE'), readyForQuery('I'));
    await t.client.untilReady();
    t.client.write(
      serialize.bind({ portal: '', statement: 'd' }),
      serialize.execute({ portal: '' }),
      serialize.sync(),
    );
    const sent = await t.backend.untilUnits(2);
    const [token] = t.backend.tokens();
    expect(sent.slice(1).map((m) => m.raw)).toEqual([
      serialize.bind({ portal: '', statement: token, values: [] }),
      serialize.sync(),
    ]);
    t.backend.write(missingStatement(token!), readyForQuery('I'));
    await t.client.untilReady(2);
    const prepared = Buffer.concat([commandComplete('PREPARE'), readyForQuery('I')]);
    expect(t.client.bytes()).toEqual(Buffer.concat([prepared, policyError(t, 2), readyForQuery('I')]));
    expect(t.decided.map((d) => d.kind)).toEqual(['sql', 'sql.bind']);
    expect(t.decided[1]!.analysis.statements[0]).toMatchObject({ type: 'delete' });
  });
});
