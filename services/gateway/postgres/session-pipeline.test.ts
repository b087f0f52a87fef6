import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import {
  allow,
  deny,
  missingStatement,
  useSessionHarness,
} from '../../../dev/pg-session-fixtures/session-harness.js';
import type { Policy } from '../../../dev/pg-session-fixtures/session-harness.js';
import type { MaskSpec } from './response-pipeline.js';
import {
  bindComplete,
  commandComplete,
  dataRow,
  errorResponse,
  noData,
  parameterDescription,
  parseComplete,
  readyForQuery,
  rowDescription,
} from '../../shared/pg-wire/index.js';

/*
 * The expected-response queue, byte for byte: what the session forwards for an extended-protocol pipeline, which
 * answers reach the client, which masks apply to which rows, and how the queue realigns after an error (the server
 * skips to Sync) or a refusal (the session skips to Sync itself).
 */

const start = useSessionHarness();

const SECRET = 'alice@example.com';
/** The first output column masked whole (a lineage mask), as policy asks for `users.email`. */
const EMAIL_MASK: MaskSpec = {
  columns: ['users.email'],
  detectors: [],
  statements: [{ outputs: [true], redact: false }],
};
/** Masks statements that read `users`, refuses DELETE, allows everything else. */
const policy: Policy = (sql, _kind, analysis) => {
  if (analysis.statements.some((s) => s.type === 'delete')) return deny('no deletes');
  return /\busers\b/.test(sql) ? allow(EMAIL_MASK) : allow();
};
const EMAIL_COLUMN = rowDescription([{ name: 'email' }]);
/** One row of an Execute to the end of its unit, as the server sends it and as the client must get it masked. */
const secretRow = [dataRow([SECRET]), commandComplete('SELECT 1'), readyForQuery('I')];
const maskedRow = [dataRow(['***']), commandComplete('SELECT 1'), readyForQuery('I')];

function extended(name: string, sql: string): Buffer[] {
  return [
    serialize.parse({ name, text: sql }),
    serialize.bind({ portal: name, statement: name }),
    serialize.execute({ portal: name }),
    serialize.sync(),
  ];
}

describe('PgSession Describe', () => {
  it('passes a statement Describe through and remembers the columns for the name', async () => {
    const t = await start({ policy });
    const sent = [
      serialize.parse({ name: 's1', text: 'SELECT name FROM t WHERE id = $1' }),
      serialize.describe({ type: 'S', name: 's1' }),
      serialize.sync(),
    ];
    t.client.write(...sent);
    expect((await t.backend.untilUnits(1)).map((m) => m.raw)).toEqual(sent);
    const answer = [
      parseComplete(),
      parameterDescription([23]),
      rowDescription([{ name: 'name' }]),
      readyForQuery('I'),
    ];
    t.backend.write(...answer);
    await t.client.untilReady();
    expect(t.client.bytes()).toEqual(Buffer.concat(answer));
    expect(t.session.names.statementFor('s1')?.fields?.map((f) => f.name)).toEqual(['name']);
  });

  it('passes NoData through for a statement without a result', async () => {
    const t = await start({ policy });
    t.client.write(
      serialize.parse({ name: 'u', text: 'UPDATE t SET x = 1 WHERE id = 2' }),
      serialize.describe({ type: 'S', name: 'u' }),
      serialize.sync(),
    );
    await t.backend.untilUnits(1);
    const answer = [parseComplete(), parameterDescription([]), noData(), readyForQuery('I')];
    t.backend.write(...answer);
    await t.client.untilReady();
    expect(t.client.bytes()).toEqual(Buffer.concat(answer));
    expect(t.session.names.statementFor('u')?.fields).toBeNull();
  });

  it('injects a portal Describe to learn the columns of a masked Execute, and keeps its answer', async () => {
    const t = await start({ policy });
    t.client.write(...extended('', 'SELECT email FROM users'));
    const sent = await t.backend.untilUnits(1);
    expect(sent.map((m) => m.raw)).toEqual([
      serialize.parse({ name: '', text: 'SELECT email FROM users' }),
      serialize.bind({ portal: '', statement: '' }),
      serialize.describe({ type: 'P', name: '' }),
      serialize.execute({ portal: '' }),
      serialize.sync(),
    ]);
    t.backend.write(parseComplete(), bindComplete(), EMAIL_COLUMN, ...secretRow);
    await t.client.untilReady();
    expect(t.client.bytes()).toEqual(Buffer.concat([parseComplete(), bindComplete(), ...maskedRow]));
    const results = t.publisher.responses();
    expect(results.map((r) => r.frame)).toEqual(['result']);
    expect(Buffer.from(results[0]!.data).includes(SECRET)).toBe(false);
  });

  it("masks by the columns of the client's own portal Describe, without a Describe of its own", async () => {
    const t = await start({ policy });
    const [parse, bind, execute, sync] = extended('', 'SELECT email FROM users');
    t.client.write(parse!, bind!, serialize.describe({ type: 'P', name: '' }), execute!, sync!);
    const sent = await t.backend.untilUnits(1);
    // The client's Describe is answered before the Execute runs: its answer gives the columns the rows are masked by.
    expect(sent.map((m) => m.type)).toEqual(['Parse', 'Bind', 'Describe', 'Execute', 'Sync']);
    t.backend.write(parseComplete(), bindComplete(), EMAIL_COLUMN, ...secretRow);
    await t.client.untilReady();
    expect(t.client.bytes()).toEqual(
      Buffer.concat([parseComplete(), bindComplete(), EMAIL_COLUMN, ...maskedRow]),
    );
  });

  it('still injects its own Describe when the portal the client described was bound again', async () => {
    const t = await start({ policy });
    const [parse, bind, execute, sync] = extended('', 'SELECT email FROM users');
    t.client.write(parse!, bind!, serialize.describe({ type: 'P', name: '' }), bind!, execute!, sync!);
    const sent = await t.backend.untilUnits(1);
    expect(sent.map((m) => m.type)).toEqual([
      'Parse',
      'Bind',
      'Describe',
      'Bind',
      'Describe',
      'Execute',
      'Sync',
    ]);
    t.backend.write(
      parseComplete(),
      bindComplete(),
      EMAIL_COLUMN,
      bindComplete(),
      EMAIL_COLUMN,
      ...secretRow,
    );
    await t.client.untilReady();
    expect(t.client.bytes()).toEqual(
      Buffer.concat([parseComplete(), bindComplete(), EMAIL_COLUMN, bindComplete(), ...maskedRow]),
    );
  });

  it('sends no Describe of its own for an Execute without masking', async () => {
    const t = await start({ policy });
    t.client.write(...extended('', 'SELECT 1'));
    const sent = await t.backend.untilUnits(1);
    expect(sent.map((m) => m.type)).toEqual(['Parse', 'Bind', 'Execute', 'Sync']);
  });
});

describe('PgSession errors mid-pipeline', () => {
  it('realigns the queue after a server error: later units get their own masks', async () => {
    const t = await start({ policy });
    t.client.write(
      ...extended('a', 'SELECT x FROM t'),
      ...extended('b', 'SELECT email FROM users WHERE id = 1'),
      ...extended('c', 'SELECT email FROM users'),
      serialize.query('SELECT x FROM t'),
    );
    const sent = await t.backend.untilUnits(4);
    expect(sent.map((m) => m.type).join(',')).toBe(
      'Parse,Bind,Execute,Sync,Parse,Bind,Describe,Execute,Sync,Parse,Bind,Describe,Execute,Sync,Query',
    );
    const done = [commandComplete('SELECT 1'), readyForQuery('I')];
    // a: plain rows
    const a = [parseComplete(), bindComplete(), dataRow([SECRET]), ...done];
    // b: the Bind fails; the server skips the Describe and the Execute
    const b = [
      parseComplete(),
      errorResponse({ severity: 'ERROR', code: '22P02', message: 'invalid input syntax' }),
      readyForQuery('I'),
    ];
    // c: the injected Describe's answer stays with the gateway, the row is masked
    const c = [parseComplete(), bindComplete(), EMAIL_COLUMN, dataRow([SECRET]), ...done];
    const cMasked = [parseComplete(), bindComplete(), dataRow(['***']), ...done];
    // the simple query: plain again
    const q = [rowDescription([{ name: 'x' }]), dataRow([SECRET]), ...done];
    t.backend.write(...a, ...b, ...c, ...q);
    await t.client.untilReady(4);
    expect(t.client.bytes()).toEqual(Buffer.concat([...a, ...b, ...cMasked, ...q]));
    const frames = t.publisher.responses().map((r) => [r.frame, r.code]);
    expect(frames).toEqual([
      ['result', ''],
      ['error', '22P02'],
      ['result', ''],
      ['row_description', ''],
      ['result', ''],
    ]);
    // Request ids: a Parse and an Execute each count one; results belong to the Execute (or the Query).
    const results = t.publisher.responses().filter((r) => r.frame === 'result');
    expect(results.map((r) => r.requestId)).toEqual([2, 6, 7]);
    expect(t.session.names.statementFor('b')?.text).toBe('SELECT email FROM users WHERE id = 1');
    expect(t.session.names.lost).toBe(false);
  });

  it('ends a failed simple query at ReadyForQuery, after the statements before the error', async () => {
    const t = await start({ policy });
    t.client.write(serialize.query('SELECT 1; SELECT 1/0; SELECT 3'));
    await t.backend.untilUnits(1);
    const answer = [
      rowDescription([{ name: 'x' }]),
      dataRow(['1']),
      commandComplete('SELECT 1'),
      rowDescription([{ name: 'x' }]),
      errorResponse({ severity: 'ERROR', code: '22012', message: 'division by zero' }),
      readyForQuery('I'),
    ];
    t.backend.write(...answer);
    await t.client.untilReady();
    t.client.write(serialize.query('SELECT email FROM users'));
    await t.backend.untilUnits(2);
    t.backend.write(EMAIL_COLUMN, dataRow([SECRET]), commandComplete('SELECT 1'), readyForQuery('I'));
    await t.client.untilReady(2);
    expect(t.client.bytes()).toEqual(
      Buffer.concat([
        ...answer,
        EMAIL_COLUMN,
        dataRow(['***']),
        commandComplete('SELECT 1'),
        readyForQuery('I'),
      ]),
    );
  });
});

describe('PgSession audit attribution (open defect)', () => {
  // An error answering a Parse or a Bind is recorded under the request id of the last Execute or Query whose
  // results arrived (the pipeline learns request ids only from those), not under the failed unit's own request.
  it.fails('records an error answering a Bind under the request of its own unit', async () => {
    const t = await start({ policy });
    t.client.write(...extended('a', 'SELECT 1'), ...extended('b', 'SELECT 2'));
    await t.backend.untilUnits(2);
    const bad = errorResponse({ severity: 'ERROR', code: '22P02', message: 'invalid input syntax' });
    t.backend.write(parseComplete(), bindComplete(), commandComplete('SELECT 0'), readyForQuery('I'));
    t.backend.write(parseComplete(), bad, readyForQuery('I'));
    await t.client.untilReady(2);
    const error = t.publisher.responses().find((r) => r.frame === 'error');
    expect(error?.requestId).toBeGreaterThan(2); // b's Parse is request 3, its Execute request 4
  });
});

describe('PgSession skip-until-Sync', () => {
  it('drops every message after a refusal up to Sync, undecided, as the server would', async () => {
    const t = await start({ policy });
    t.client.write(
      serialize.parse({ name: 'd', text: 'DELETE FROM t' }),
      serialize.flush(),
      serialize.parse({ name: 'ok', text: 'SELECT 1' }),
      serialize.bind({ portal: 'p', statement: 'ok' }),
      serialize.describe({ type: 'P', name: 'p' }),
      serialize.execute({ portal: 'p' }),
      serialize.close({ type: 'S', name: 'ok' }),
      serialize.copyData(Buffer.from('1\n')),
      serialize.sync(),
      serialize.query('SELECT 2'),
    );
    const sent = await t.backend.untilUnits(2);
    expect(sent.map((m) => m.type)).toEqual(['Bind', 'Sync', 'Query']);
    expect(t.decided.map((d) => d.sql)).toEqual(['DELETE FROM t', 'SELECT 2']);
    const [token] = t.backend.tokens();
    t.backend.write(
      missingStatement(token!),
      readyForQuery('I'),
      rowDescription([{ name: 'x' }]),
      dataRow(['2']),
      commandComplete('SELECT 1'),
      readyForQuery('I'),
    );
    await t.client.untilReady(2);
    const codes = t.client.frames.map((f) => String.fromCharCode(f.code)).join('');
    expect(codes).toBe('EZTDCZ');
    expect(t.publisher.responses().some((r) => r.frame === 'copy_in')).toBe(false);
    expect(t.session.names.statementCandidates('ok')).toEqual([]);
  });

  it('still honours a Terminate while skipping', async () => {
    const t = await start({ policy });
    t.client.write(serialize.parse({ name: '', text: 'DELETE FROM t' }), serialize.end());
    await expect(t.closed).resolves.toBe('client terminated');
    await t.backend.untilClosed();
    expect(t.backend.messages.map((m) => m.type)).toEqual(['Bind', 'Terminate']);
    const closed = t.publisher.events().at(-1)?.body;
    expect(closed?.case).toBe('sessionClosed');
    expect(closed?.case === 'sessionClosed' && closed.value.reason).toBe('client terminated');
  });
});
