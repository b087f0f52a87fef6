import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authenticationCleartextPassword,
  authenticationOk,
  backendKeyData,
  commandComplete,
  dataRow,
  errorResponse,
  noticeResponse,
  parameterStatus,
  readyForQuery,
  rowDescription,
} from './backend-builders.js';
import { decodeBackendMessages } from './backend-messages.js';
import { PgProtocolError } from './errors.js';
import {
  ERROR_RESPONSE,
  NOTICE_RESPONSE,
  SELECT_RESPONSE,
} from '../../../dev/pg-wire-fixtures/postgres15.js';

const text = (b: Buffer | null | undefined): string | null =>
  b === null || b === undefined ? null : b.toString('utf8');

describe('decodeBackendMessages', () => {
  it('decodes a captured PostgreSQL 15 result set', () => {
    const [t, d, c, z, ...rest] = decodeBackendMessages(SELECT_RESPONSE);
    expect(rest).toEqual([]);
    expect(t?.type === 'RowDescription' && t.fields.map((f) => [f.name, f.typeOid, f.format])).toEqual([
      ['n', 23, 0],
      ['s', 25, 0],
      ['z', 25, 0],
      ['amount', 1700, 0],
    ]);
    expect(d?.type === 'DataRow' && d.values.map(text)).toEqual(['1', "o'brien", null, '12.50']);
    expect(c).toEqual({ type: 'CommandComplete', tag: 'SELECT 1' });
    expect(z).toEqual({ type: 'ReadyForQuery', status: 'I' });
  });

  it('decodes a captured ErrorResponse with its SQLSTATE', () => {
    const [e, z] = decodeBackendMessages(ERROR_RESPONSE);
    expect(e).toMatchObject({
      type: 'ErrorResponse',
      fields: { severity: 'ERROR', code: '22012', message: 'division by zero' },
    });
    expect(e?.type === 'ErrorResponse' && e.fields.routine).toBe('int4div');
    expect(z).toEqual({ type: 'ReadyForQuery', status: 'I' });
  });

  it('decodes a captured NoticeResponse followed by CommandComplete', () => {
    const messages = decodeBackendMessages(NOTICE_RESPONSE);
    expect(messages.map((m) => m.type)).toEqual(['NoticeResponse', 'CommandComplete', 'ReadyForQuery']);
    expect(messages[0]).toMatchObject({ fields: { severity: 'NOTICE', code: '00000', message: 'hello 42' } });
  });

  it('round-trips what the builders build', () => {
    const bytes = Buffer.concat([
      rowDescription([{ name: 'naïve', typeOid: 25 }]),
      dataRow(['zoë']),
      dataRow([null]),
      commandComplete('SELECT 2'),
      errorResponse({ severity: 'ERROR', code: '42501', message: 'no', detail: 'd', hint: 'h' }),
      noticeResponse({ severity: 'NOTICE', code: '00000', message: 'n' }),
      readyForQuery('E'),
    ]);
    const m = decodeBackendMessages(bytes);
    expect(m.map((x) => x.type)).toEqual([
      'RowDescription',
      'DataRow',
      'DataRow',
      'CommandComplete',
      'ErrorResponse',
      'NoticeResponse',
      'ReadyForQuery',
    ]);
    expect(m[0]?.type === 'RowDescription' && m[0].fields[0]?.name).toBe('naïve');
    expect(m[1]?.type === 'DataRow' && m[1].values.map(text)).toEqual(['zoë']);
    expect(m[2]?.type === 'DataRow' && m[2].values).toEqual([null]);
    expect(m[4]).toMatchObject({ fields: { code: '42501', detail: 'd', hint: 'h' } });
    expect(m[6]).toEqual({ type: 'ReadyForQuery', status: 'E' });
  });

  it('decodes the login messages: Authentication, ParameterStatus, BackendKeyData', () => {
    const saslContinue = Buffer.from('520000000a0000000b723d', 'hex'); // AuthenticationSASLContinue 'r='
    const bytes = Buffer.concat([
      authenticationCleartextPassword(),
      saslContinue,
      authenticationOk(),
      parameterStatus('application_name', 'psql'),
      backendKeyData(7, -2),
    ]);
    expect(decodeBackendMessages(bytes)).toEqual([
      { type: 'Authentication', request: { kind: 'cleartext-password' } },
      { type: 'Authentication', request: { kind: 'sasl-continue', data: Buffer.from('r=') } },
      { type: 'Authentication', request: { kind: 'ok' } },
      { type: 'ParameterStatus', name: 'application_name', value: 'psql' },
      { type: 'BackendKeyData', processId: 7, secretKey: -2 },
    ]);
  });

  it('passes unknown message types through with a view of their payload and accepts an empty input', () => {
    expect(decodeBackendMessages(Buffer.from('3100000004', 'hex'))).toEqual([
      { type: 'Other', code: 0x31, payload: Buffer.alloc(0) },
    ]);
    expect(decodeBackendMessages(Buffer.alloc(0))).toEqual([]);
  });

  it('rejects truncated and malformed messages', () => {
    const bad = [
      SELECT_RESPONSE.subarray(0, SELECT_RESPONSE.length - 1), // truncated last message
      Buffer.from('43000000', 'hex'), // header cut short
      Buffer.from('4300000002', 'hex'), // length below 4
      Buffer.from('430000000661', 'hex'), // tag without NUL
      Buffer.from('44000000080001fffffff0', 'hex'), // negative column length
      Buffer.concat([Buffer.from('5a00000006', 'hex'), Buffer.from('4949', 'hex')]), // trailing byte inside Z
      Buffer.from('490000000500', 'hex'), // EmptyQueryResponse with a payload
    ];
    for (const b of bad) expect(() => decodeBackendMessages(b)).toThrow(PgProtocolError);
    expect(() => decodeBackendMessages(Buffer.from('430000', 'hex'))).toThrow(
      'trailing 3 bytes are not a message',
    );
  });

  it('honours maxMessageSize', () => {
    const big = commandComplete('x'.repeat(100));
    expect(decodeBackendMessages(big, { maxMessageSize: 200 })).toHaveLength(1);
    expect(() => decodeBackendMessages(big, { maxMessageSize: 50 })).toThrow(/exceeds the limit of 50/);
  });

  it('never throws anything but PgProtocolError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeBackendMessages(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(PgProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
