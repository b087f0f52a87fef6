import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PgDecodeError } from '../errors.js';
import { ERROR_RESPONSE, NOTICE_RESPONSE, SELECT_RESPONSE } from './fixtures/postgres15.js';
import {
  commandComplete,
  dataRow,
  noticeMessage,
  PG_TYPES,
  readyForQuery,
  rowDescription,
} from './pg-encode.js';
import { decodeBackendMessages } from './pg-messages.js';

const text = (b: Uint8Array | null | undefined): string | null =>
  b === null || b === undefined ? null : Buffer.from(b).toString('utf8');

describe('decodeBackendMessages', () => {
  it('decodes a captured PostgreSQL 15 result set', () => {
    const [t, d, c, z, ...rest] = decodeBackendMessages(SELECT_RESPONSE);
    expect(rest).toEqual([]);
    expect(t?.type === 'row_description' && t.fields.map((f) => [f.name, f.typeOid, f.format])).toEqual([
      ['n', 23, 0],
      ['s', 25, 0],
      ['z', 25, 0],
      ['amount', 1700, 0],
    ]);
    expect(d?.type === 'data_row' && d.values.map(text)).toEqual(['1', "o'brien", null, '12.50']);
    expect(c).toEqual({ type: 'command_complete', tag: 'SELECT 1' });
    expect(z).toEqual({ type: 'ready', status: 'I' });
  });

  it('decodes a captured ErrorResponse with its SQLSTATE', () => {
    const [e, z] = decodeBackendMessages(ERROR_RESPONSE);
    expect(e).toMatchObject({
      type: 'error',
      notice: { severity: 'ERROR', code: '22012', message: 'division by zero' },
    });
    expect(e?.type === 'error' && e.notice.fields.R).toBe('int4div');
    expect(z).toEqual({ type: 'ready', status: 'I' });
  });

  it('decodes a captured NoticeResponse followed by CommandComplete', () => {
    const messages = decodeBackendMessages(NOTICE_RESPONSE);
    expect(messages.map((m) => m.type)).toEqual(['notice', 'command_complete', 'ready']);
    expect(messages[0]).toMatchObject({ notice: { severity: 'NOTICE', code: '00000', message: 'hello 42' } });
  });

  it('round-trips what the fixture encoder builds', () => {
    const bytes = Buffer.concat([
      rowDescription([{ name: 'naïve', typeOid: PG_TYPES.text }]),
      dataRow(['zoë']),
      dataRow([null]),
      commandComplete('SELECT 2'),
      noticeMessage('error', { severity: 'ERROR', code: '42501', message: 'no', detail: 'd', hint: 'h' }),
      readyForQuery('E'),
    ]);
    const m = decodeBackendMessages(bytes);
    expect(m.map((x) => x.type)).toEqual([
      'row_description',
      'data_row',
      'data_row',
      'command_complete',
      'error',
      'ready',
    ]);
    expect(m[4]).toMatchObject({ notice: { code: '42501', detail: 'd', hint: 'h' } });
    expect(m[5]).toEqual({ type: 'ready', status: 'E' });
  });

  it('passes unknown message types through and accepts an empty payload', () => {
    expect(decodeBackendMessages(Buffer.from('3100000004', 'hex'))).toEqual([
      { type: 'other', code: '1', length: 4 },
    ]);
    expect(decodeBackendMessages(new Uint8Array(0))).toEqual([]);
  });

  it('rejects truncated and malformed messages', () => {
    const bad = [
      SELECT_RESPONSE.subarray(0, SELECT_RESPONSE.length - 1), // truncated last message
      Buffer.from('43000000', 'hex'), // header cut short
      Buffer.from('4300000002', 'hex'), // length below 4
      Buffer.from('430000000661', 'hex'), // tag without NUL
      Buffer.from('44000000080001fffffff0', 'hex'), // negative column length
      Buffer.concat([Buffer.from('5a00000006', 'hex'), Buffer.from('4949', 'hex')]), // trailing byte inside Z
    ];
    for (const b of bad) expect(() => decodeBackendMessages(b)).toThrow(PgDecodeError);
  });

  it('never throws anything but PgDecodeError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeBackendMessages(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(PgDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
