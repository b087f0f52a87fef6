import { describe, expect, it } from 'vitest';
import * as b from './backend-builders.js';
import * as d from './backend-decoders.js';
import { PgProtocolError } from './errors.js';

const payload = (m: Buffer): Buffer => m.subarray(5);

describe('backend decoders', () => {
  it('RowDescription round-trips every field', () => {
    const fields = [
      {
        name: 'id',
        tableOid: 0xfffffff0,
        columnAttr: 1,
        typeOid: 23,
        typeSize: 4,
        typeMod: -1,
        format: 0 as const,
      },
      {
        name: 'Émail',
        tableOid: 16384,
        columnAttr: -2,
        typeOid: 1043,
        typeSize: -1,
        typeMod: 104,
        format: 1 as const,
      },
    ];
    expect(d.decodeRowDescription(payload(b.rowDescription(fields)))).toEqual(fields);
    expect(d.decodeRowDescription(payload(b.rowDescription([])))).toEqual([]);
  });

  it('RowDescription: truncated, trailing bytes and bad format codes are errors', () => {
    const p = payload(b.rowDescription([{ name: 'a' }]));
    for (let n = 0; n < p.length; n++)
      expect(() => d.decodeRowDescription(p.subarray(0, n))).toThrow(PgProtocolError);
    expect(() => d.decodeRowDescription(Buffer.concat([p, Buffer.from([0])]))).toThrow(/trailing/);
    const bad = Buffer.from(p);
    bad.writeInt16BE(2, bad.length - 2);
    expect(() => d.decodeRowDescription(bad)).toThrow(/format code 2/);
  });

  it('applyResultFormats applies none, one or per-column codes', () => {
    const fields = d.decodeRowDescription(payload(b.rowDescription([{ name: 'a' }, { name: 'b' }])));
    expect(d.applyResultFormats(fields, []).map((f) => f.format)).toEqual([0, 0]);
    expect(d.applyResultFormats(fields, [1]).map((f) => f.format)).toEqual([1, 1]);
    expect(d.applyResultFormats(fields, [0, 1]).map((f) => f.format)).toEqual([0, 1]);
    expect(d.applyResultFormats(fields, [0, 1])[0]).toBe(fields[0]);
    expect(() => d.applyResultFormats(fields, [0, 1, 1])).toThrow(PgProtocolError);
  });

  it('DataRow: lazy view and eager decode', () => {
    const p = payload(b.dataRow(['abc', null, Buffer.alloc(0), 'é']));
    const v = new d.DataRowView(p);
    expect(v.length).toBe(4);
    expect(v.isNull(1)).toBe(true);
    expect(v.text(0)).toBe('abc');
    expect(v.value(1)).toBeNull();
    expect(v.value(2)?.length).toBe(0);
    expect(v.text(3)).toBe('é');
    expect(v.value(0)!.buffer).toBe(p.buffer);
    expect(() => v.value(4)).toThrow(RangeError);
    expect(d.decodeDataRow(p).map((x) => (x === null ? null : x.toString()))).toEqual(['abc', null, '', 'é']);
  });

  it('DataRow: every truncation, a bad length and trailing bytes are errors', () => {
    const p = payload(b.dataRow(['abc', null]));
    for (let n = 0; n < p.length; n++)
      expect(() => new d.DataRowView(p.subarray(0, n))).toThrow(PgProtocolError);
    const neg = Buffer.from(p);
    neg.writeInt32BE(-5, 2);
    expect(() => new d.DataRowView(neg)).toThrow(/-5/);
    expect(() => new d.DataRowView(Buffer.concat([p, Buffer.from([9])]))).toThrow(/trailing/);
  });

  it('CommandComplete and tags', () => {
    expect(d.decodeCommandComplete(payload(b.commandComplete('INSERT 0 5')))).toBe('INSERT 0 5');
    expect(() => d.decodeCommandComplete(Buffer.from('SELECT 1'))).toThrow(PgProtocolError);
    expect(d.parseCommandTag('INSERT 0 5')).toEqual({ command: 'INSERT', rows: 5 });
    expect(d.parseCommandTag('SELECT 12')).toEqual({ command: 'SELECT', rows: 12 });
    expect(d.parseCommandTag('UPDATE 0')).toEqual({ command: 'UPDATE', rows: 0 });
    expect(d.parseCommandTag('MERGE 3')).toEqual({ command: 'MERGE', rows: 3 });
    expect(d.parseCommandTag('COPY 7')).toEqual({ command: 'COPY', rows: 7 });
    expect(d.parseCommandTag('CREATE TABLE')).toEqual({ command: 'CREATE TABLE', rows: null });
  });

  it('ErrorResponse / NoticeResponse fields', () => {
    const e = d.decodeNoticeFields(
      payload(
        b.errorResponse({
          severity: 'ERROR',
          code: '23505',
          message: 'dup',
          detail: 'k',
          hint: 'h',
          position: 9,
        }),
      ),
    );
    expect(e).toEqual({
      severity: 'ERROR',
      code: '23505',
      message: 'dup',
      detail: 'k',
      hint: 'h',
      position: '9',
    });
    const raw = Buffer.from('SFEHLER\0C42P01\0Mx\0ttbl\0spublic\0Z?\0\0', 'latin1');
    expect(d.decodeNoticeFields(raw)).toEqual({
      severity: 'FEHLER',
      code: '42P01',
      message: 'x',
      table: 'tbl',
      schema: 'public',
      other: { Z: '?' },
    });
    expect(() => d.decodeNoticeFields(Buffer.from('SERROR\0', 'latin1'))).toThrow(/truncated/);
    expect(() => d.decodeNoticeFields(Buffer.from('SERROR', 'latin1'))).toThrow(/unterminated/);
  });

  it('ReadyForQuery, ParameterStatus, BackendKeyData, ParameterDescription', () => {
    expect(d.decodeReadyForQuery(payload(b.readyForQuery('E')))).toBe('E');
    expect(() => d.decodeReadyForQuery(Buffer.from('X'))).toThrow(PgProtocolError);
    expect(() => d.decodeReadyForQuery(Buffer.from('II'))).toThrow(PgProtocolError);
    expect(d.decodeParameterStatus(payload(b.parameterStatus('a', 'b')))).toEqual({ name: 'a', value: 'b' });
    expect(d.decodeBackendKeyData(payload(b.backendKeyData(1, -1)))).toEqual({ processId: 1, secretKey: -1 });
    expect(() => d.decodeBackendKeyData(Buffer.alloc(7))).toThrow(PgProtocolError);
    expect(d.decodeParameterDescription(payload(b.parameterDescription([23, 25])))).toEqual([23, 25]);
  });

  it('Copy responses', () => {
    const p = Buffer.from([0, 0, 2, 0, 0, 0, 1]);
    expect(d.decodeCopyResponse(p)).toEqual({ format: 0, columnFormats: [0, 1] });
    expect(() => d.decodeCopyResponse(Buffer.from([2, 0, 0]))).toThrow(/copy format 2/);
    expect(() => d.decodeCopyResponse(Buffer.from([0, 0, 2, 0, 0]))).toThrow(/truncated/);
  });

  it('Authentication requests', () => {
    expect(d.decodeAuthentication(payload(b.authenticationOk()))).toEqual({ kind: 'ok' });
    expect(d.decodeAuthentication(payload(b.authenticationCleartextPassword()))).toEqual({
      kind: 'cleartext-password',
    });
    const md5 = d.decodeAuthentication(Buffer.from([0, 0, 0, 5, 1, 2, 3, 4]));
    expect(md5).toEqual({ kind: 'md5-password', salt: Buffer.from([1, 2, 3, 4]) });
    const sasl = Buffer.concat([
      Buffer.from([0, 0, 0, 10]),
      Buffer.from('SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0'),
    ]);
    expect(d.decodeAuthentication(sasl)).toEqual({
      kind: 'sasl',
      mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
    });
    expect(() => d.decodeAuthentication(sasl.subarray(0, sasl.length - 1))).toThrow(/terminator/);
    const cont = d.decodeAuthentication(Buffer.from([0, 0, 0, 11, 0x72, 0x3d]));
    expect(cont).toEqual({ kind: 'sasl-continue', data: Buffer.from('r=') });
    expect(d.decodeAuthentication(Buffer.from([0, 0, 0, 12, 0x76]))).toEqual({
      kind: 'sasl-final',
      data: Buffer.from('v'),
    });
    expect(d.decodeAuthentication(Buffer.from([0, 0, 0, 7]))).toEqual({ kind: 'unsupported', method: 7 });
    expect(() => d.decodeAuthentication(Buffer.from([0, 0, 0]))).toThrow(PgProtocolError);
    expect(() => d.decodeAuthentication(Buffer.from([0, 0, 0, 0, 1]))).toThrow(/trailing/);
  });
});
