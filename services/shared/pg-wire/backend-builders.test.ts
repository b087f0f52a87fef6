import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { describe, expect, it } from 'vitest';
import * as b from './backend-builders.js';

/** Decodes backend bytes with the `pg` driver's own parser, as a real client would. */
function pgParse(bytes: Buffer): BackendMessage[] {
  const out: BackendMessage[] = [];
  new Parser().parse(bytes, (m) => out.push(m));
  return out;
}

function hex(buf: Buffer): string {
  return buf.toString('hex');
}

describe('backend builders produce exact bytes', () => {
  it('fixed-size messages', () => {
    expect(hex(b.authenticationOk())).toBe('520000000800000000');
    expect(hex(b.authenticationCleartextPassword())).toBe('520000000800000003');
    expect(hex(b.backendKeyData(7, -2))).toBe('4b0000000c00000007fffffffe');
    expect(hex(b.readyForQuery('I'))).toBe('5a0000000549');
    expect(hex(b.readyForQuery('T'))).toBe('5a0000000554');
    expect(hex(b.readyForQuery('E'))).toBe('5a0000000545');
    expect(hex(b.emptyQueryResponse())).toBe('4900000004');
    expect(hex(b.parseComplete())).toBe('3100000004');
    expect(hex(b.bindComplete())).toBe('3200000004');
    expect(hex(b.closeComplete())).toBe('3300000004');
    expect(hex(b.noData())).toBe('6e00000004');
    expect(hex(b.portalSuspended())).toBe('7300000004');
    expect(hex(b.sslResponse(true))).toBe('53');
    expect(hex(b.sslResponse(false))).toBe('4e');
    expect(hex(b.gssEncResponse())).toBe('4e');
  });

  it('ParameterStatus and CommandComplete', () => {
    expect(b.parameterStatus('TimeZone', 'UTC')).toEqual(Buffer.from('S\0\0\0\x11TimeZone\0UTC\0', 'latin1'));
    expect(b.commandComplete('SELECT 1')).toEqual(Buffer.from('C\0\0\0\x0dSELECT 1\0', 'latin1'));
  });

  it('ErrorResponse carries S, V, C, M and the optional D, H, P fields', () => {
    const e = b.errorResponse({
      severity: 'FATAL',
      code: '28000',
      message: 'denied by policy',
      detail: 'rule x',
      hint: 'ask',
      position: 3,
    });
    const body = 'SFATAL\0VFATAL\0C28000\0Mdenied by policy\0Drule x\0Hask\0P3\0\0';
    expect(e).toEqual(Buffer.concat([Buffer.from([0x45, 0, 0, 0, body.length + 4]), Buffer.from(body)]));
    const n = b.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'm' });
    expect(n.toString('latin1')).toBe('N\0\0\0\x1fSNOTICE\0VNOTICE\0C00000\0Mm\0\0');
  });

  it('ErrorResponse rejects a bad SQLSTATE and strips NULs from text', () => {
    expect(() => b.errorResponse({ severity: 'ERROR', code: '123', message: 'x' })).toThrow(RangeError);
    const e = b.errorResponse({ severity: 'ERROR', code: '42501', message: 'a\0b' });
    expect(e.toString('latin1')).toContain('Mab\0');
  });

  it('RowDescription and DataRow', () => {
    const rd = b.rowDescription([
      { name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4 },
      { name: 'é', format: 1 },
    ]);
    expect(hex(rd)).toBe(
      '54' +
        '00000030' + // length: 4 + 2 + (3 + 18) + (3 + 18) = 48
        '0002' +
        '696400' +
        '00004000' +
        '0001' +
        '00000017' +
        '0004' +
        'ffffffff' +
        '0000' +
        'c3a900' +
        '00000000' +
        '0000' +
        '00000019' +
        'ffff' +
        'ffffffff' +
        '0001',
    );
    const dr = b.dataRow([Buffer.from([1, 2]), null, 'é', Buffer.alloc(0)]);
    expect(hex(dr)).toBe(
      '44' + '0000001a' + '0004' + '0000000201' + '02' + 'ffffffff' + '00000002c3a9' + '00000000',
    );
  });

  it('ParameterDescription and NegotiateProtocolVersion', () => {
    expect(hex(b.parameterDescription([23, 0xffffffff]))).toBe(
      '740000000e' + '0002' + '00000017' + 'ffffffff',
    );
    expect(hex(b.negotiateProtocolVersion(0, ['_pq_.x']))).toBe(
      '7600000013' + '00000000' + '00000001' + Buffer.from('_pq_.x\0').toString('hex'),
    );
  });
});

describe('backend builders are understood by the pg driver', () => {
  it('decodes a whole simple-query answer', () => {
    const stream = Buffer.concat([
      b.authenticationCleartextPassword(),
      b.authenticationOk(),
      b.parameterStatus('server_version', '15.0'),
      b.backendKeyData(123, 456),
      b.readyForQuery('I'),
      b.rowDescription([{ name: 'n', typeOid: 23 }, { name: 's' }]),
      b.dataRow(['1', 'x']),
      b.dataRow([null, '']),
      b.commandComplete('SELECT 2'),
      b.noticeResponse({ severity: 'WARNING', code: '01000', message: 'careful' }),
      b.errorResponse({ severity: 'ERROR', code: '42501', message: 'denied', detail: 'd', hint: 'h' }),
      b.emptyQueryResponse(),
      b.parseComplete(),
      b.bindComplete(),
      b.parameterDescription([25]),
      b.noData(),
      b.closeComplete(),
      b.portalSuspended(),
      b.readyForQuery('T'),
    ]);
    const ms = pgParse(stream);
    expect(ms.map((m) => m.name)).toEqual([
      'authenticationCleartextPassword',
      'authenticationOk',
      'parameterStatus',
      'backendKeyData',
      'readyForQuery',
      'rowDescription',
      'dataRow',
      'dataRow',
      'commandComplete',
      'notice',
      'error',
      'emptyQuery',
      'parseComplete',
      'bindComplete',
      'parameterDescription',
      'noData',
      'closeComplete',
      'portalSuspended',
      'readyForQuery',
    ]);
    expect(ms[2]).toMatchObject({ parameterName: 'server_version', parameterValue: '15.0' });
    expect(ms[3]).toMatchObject({ processID: 123, secretKey: 456 });
    expect(ms[5]).toMatchObject({
      fieldCount: 2,
      fields: [
        { name: 'n', dataTypeID: 23 },
        { name: 's', dataTypeID: 25 },
      ],
    });
    expect(ms[6]).toMatchObject({ fields: ['1', 'x'] });
    expect(ms[7]).toMatchObject({ fields: [null, ''] });
    expect(ms[8]).toMatchObject({ text: 'SELECT 2' });
    expect(ms[9]).toMatchObject({ severity: 'WARNING', code: '01000', message: 'careful' });
    expect(ms[10]).toMatchObject({
      severity: 'ERROR',
      code: '42501',
      message: 'denied',
      detail: 'd',
      hint: 'h',
    });
    expect(ms[14]).toMatchObject({ dataTypeIDs: [25] });
    expect(ms[18]).toMatchObject({ status: 'T' });
  });
});
