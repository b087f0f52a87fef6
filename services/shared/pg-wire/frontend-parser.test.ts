import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { PgProtocolError } from './errors.js';
import type { FrontendMessage } from './frontend-messages.js';
import { FrontendParser } from './frontend-parser.js';
import type { FrontendParserOptions } from './frontend-parser.js';

/** Builds a typed frontend message by hand: type byte, int32 length, payload. */
function msg(type: string, ...parts: (Buffer | string | number[])[]): Buffer {
  const payload = Buffer.concat(
    parts.map((p) =>
      typeof p === 'string' ? Buffer.from(p, 'utf8') : Array.isArray(p) ? Buffer.from(p) : p,
    ),
  );
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(payload.length + 4, 1);
  return Buffer.concat([head, payload]);
}

function int32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return [...b];
}

function int16(n: number): number[] {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return [...b];
}

const STARTUP = serialize.startup({ user: 'alice', database: 'app', application_name: 'psql' });

function parseAll(chunks: Buffer[], options?: FrontendParserOptions): FrontendMessage[] {
  const p = new FrontendParser(options);
  const out: FrontendMessage[] = [];
  for (const c of chunks) out.push(...p.feed(c));
  expect(p.bufferedBytes).toBe(0);
  return out;
}

function afterStartup(...messages: Buffer[]): FrontendMessage[] {
  return parseAll([STARTUP, ...messages]).slice(1);
}

/** A comparable form of a message: Buffers as byte arrays. */
function plain(m: unknown): unknown {
  if (Buffer.isBuffer(m)) return [...m];
  if (Array.isArray(m)) return m.map(plain);
  if (m !== null && typeof m === 'object') {
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, plain(v)]));
  }
  return m;
}

function expectProtocolError(fn: () => unknown, sqlstate: string, text?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PgProtocolError);
  const e = caught as PgProtocolError;
  expect(e.code).toBe('GH_ERR_PG_PROTOCOL');
  expect(e.sqlstate).toBe(sqlstate);
  if (text) expect(e.message).toMatch(text);
}

describe('FrontendParser startup phase', () => {
  it('parses SSLRequest, then a StartupMessage with its parameters', () => {
    const p = new FrontendParser();
    const ssl = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    expect([...p.feed(ssl)].map((m) => m.type)).toEqual(['SSLRequest']);
    expect(p.phase).toBe('startup');
    const [m] = [...p.feed(STARTUP)];
    expect(m?.type).toBe('StartupMessage');
    if (m?.type !== 'StartupMessage') throw new Error('unreachable');
    expect(m.protocolVersion).toBe(0x30000);
    expect(m.minorVersion).toBe(0);
    expect({ ...m.parameters }).toEqual({
      user: 'alice',
      database: 'app',
      application_name: 'psql',
      client_encoding: 'UTF8',
    });
    expect(m.raw.equals(STARTUP)).toBe(true);
    expect(p.phase).toBe('normal');
  });

  it('parses GSSENCRequest and CancelRequest', () => {
    const gss = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);
    const [g] = parseAll([gss]);
    expect(g?.type).toBe('GSSENCRequest');
    const [c] = parseAll([serialize.cancel(4242, -123456)]);
    expect(c).toMatchObject({ type: 'CancelRequest', processId: 4242, secretKey: -123456 });
  });

  it('accepts a newer minor version and reports it', () => {
    const raw = Buffer.concat([
      Buffer.from(int32(0)),
      Buffer.from(int32(0x30002)),
      Buffer.from('user\0u\0\0'),
    ]);
    raw.writeInt32BE(raw.length, 0);
    const [m] = parseAll([raw]);
    expect(m).toMatchObject({ type: 'StartupMessage', minorVersion: 2, parameters: { user: 'u' } });
  });

  it('rejects bad startup packets', () => {
    const tooShort = Buffer.from([0, 0, 0, 7, 0, 3, 0, 0]);
    expectProtocolError(() => parseAll([tooShort]), '08P01', /invalid length/);
    const huge = Buffer.from([0, 0, 0x30, 0, 0, 3, 0, 0]);
    expectProtocolError(() => parseAll([huge]), '08P01', /exceeds/);
    const v2 = Buffer.from([0, 0, 0, 9, 0, 2, 0, 0, 0]);
    expectProtocolError(() => parseAll([v2]), '0A000', /unsupported frontend protocol 2\.0/);
    const unterminated = Buffer.from([0, 0, 0, 13, 0, 3, 0, 0, 0x75, 0, 0x61, 0, 0x62]);
    expectProtocolError(() => parseAll([unterminated]), '08P01');
    const noFinalNul = Buffer.from([0, 0, 0, 12, 0, 3, 0, 0, 0x75, 0, 0x61, 0]);
    expectProtocolError(() => parseAll([noFinalNul]), '08P01', /missing terminator/);
    const dup = Buffer.concat([
      Buffer.from(int32(0)),
      Buffer.from(int32(0x30000)),
      Buffer.from('user\0a\0user\0b\0\0'),
    ]);
    dup.writeInt32BE(dup.length, 0);
    expectProtocolError(() => parseAll([dup]), '08P01', /duplicate/);
    const sslBadLen = Buffer.from([0, 0, 0, 9, 0x04, 0xd2, 0x16, 0x2f, 0]);
    expectProtocolError(() => parseAll([sslBadLen]), '08P01', /SSLRequest/);
    const cancelShort = Buffer.from([0, 0, 0, 12, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1]);
    expectProtocolError(() => parseAll([cancelShort]), '08P01', /CancelRequest/);
  });

  it('honours maxStartupMessageSize', () => {
    expectProtocolError(() => parseAll([STARTUP], { maxStartupMessageSize: STARTUP.length - 1 }), '08P01');
    expect(parseAll([STARTUP], { maxStartupMessageSize: STARTUP.length })).toHaveLength(1);
  });

  it('keeps bytes sent right after SSLRequest buffered so the gateway can refuse them', () => {
    const p = new FrontendParser();
    const ssl = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    const [m] = [...p.feed(Buffer.concat([ssl, STARTUP.subarray(0, 3)]))];
    expect(m?.type).toBe('SSLRequest');
    expect(p.bufferedBytes).toBe(3);
  });
});

describe('FrontendParser typed messages', () => {
  it('parses Query', () => {
    const [m] = afterStartup(serialize.query('select ümlaut from t'));
    expect(m).toMatchObject({ type: 'Query', sql: 'select ümlaut from t' });
  });

  it('parses Parse with parameter type OIDs, including OIDs above 2^31', () => {
    const raw = msg('P', 's1\0', 'select $1, $2\0', int16(2), int32(23), [0xff, 0xff, 0xff, 0xfe]);
    const [m] = afterStartup(raw);
    expect(m).toMatchObject({
      type: 'Parse',
      name: 's1',
      query: 'select $1, $2',
      paramTypes: [23, 0xfffffffe],
    });
    const [viaPg] = afterStartup(serialize.parse({ name: '', text: 'select 1', types: [] }));
    expect(viaPg).toMatchObject({ type: 'Parse', name: '', query: 'select 1', paramTypes: [] });
  });

  it('parses Bind with NULL, empty and binary parameters and result formats', () => {
    const raw = msg(
      'B',
      'p1\0s1\0',
      int16(3),
      int16(0),
      int16(1),
      int16(0),
      int16(3),
      int32(-1),
      int32(0),
      int32(2),
      [0xca, 0xfe],
      int16(1),
      int16(1),
    );
    const [m] = afterStartup(raw);
    expect(plain(m!)).toEqual({
      type: 'Bind',
      portal: 'p1',
      statement: 's1',
      paramFormats: [0, 1, 0],
      params: [null, [], [0xca, 0xfe]],
      resultFormats: [1],
      raw: [...raw],
    });
    const [viaPg] = afterStartup(
      serialize.bind({ portal: '', statement: 'x', values: ['a', null, Buffer.from([1])] }),
    );
    expect(plain(viaPg!)).toMatchObject({
      type: 'Bind',
      statement: 'x',
      paramFormats: [0, 0, 1],
      params: [[0x61], null, [1]],
      resultFormats: [0],
    });
  });

  it('parses Describe, Execute, Close, Sync, Flush, Terminate', () => {
    const ms = afterStartup(
      serialize.describe({ type: 'P', name: 'p' }),
      serialize.describe({ type: 'S', name: '' }),
      serialize.execute({ portal: 'p', rows: 10 }),
      msg('E', '\0', [0xff, 0xff, 0xff, 0xff]),
      serialize.close({ type: 'S', name: 's1' }),
      serialize.sync(),
      serialize.flush(),
      serialize.end(),
    );
    expect(ms.map(plainWithoutRaw)).toEqual([
      { type: 'Describe', target: 'P', name: 'p' },
      { type: 'Describe', target: 'S', name: '' },
      { type: 'Execute', portal: 'p', maxRows: 10 },
      { type: 'Execute', portal: '', maxRows: 0xffffffff },
      { type: 'Close', target: 'S', name: 's1' },
      { type: 'Sync' },
      { type: 'Flush' },
      { type: 'Terminate' },
    ]);
  });

  it('parses PasswordMessage as cleartext or as opaque SASL data', () => {
    const [pw] = afterStartup(serialize.password('eyJtoken'));
    expect(pw).toMatchObject({ type: 'PasswordMessage', password: 'eyJtoken' });
    const [sasl] = afterStartup(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=,r=abc'));
    expect(sasl).toMatchObject({ type: 'PasswordMessage', password: null });
  });

  it('parses CopyData, CopyDone, CopyFail', () => {
    const ms = afterStartup(
      serialize.copyData(Buffer.from('1\tx\n')),
      serialize.copyDone(),
      serialize.copyFail('aborted by user'),
    );
    expect(ms.map(plainWithoutRaw)).toEqual([
      { type: 'CopyData', data: [0x31, 9, 0x78, 10] },
      { type: 'CopyDone' },
      { type: 'CopyFail', message: 'aborted by user' },
    ]);
  });

  it('parses FunctionCall', () => {
    const raw = msg('F', int32(1299), int16(1), int16(0), int16(2), int32(1), [0x31], int32(-1), int16(1));
    const [m] = afterStartup(raw);
    expect(plainWithoutRaw(m!)).toEqual({
      type: 'FunctionCall',
      functionOid: 1299,
      argFormats: [0],
      args: [[0x31], null],
      resultFormat: 1,
    });
  });

  it('returns views of the input chunk when a message arrives whole', () => {
    const chunk = Buffer.concat([serialize.query('select 1'), serialize.sync()]);
    const p = new FrontendParser();
    p.push(STARTUP);
    p.read();
    const ms = [...p.feed(chunk)];
    expect(ms).toHaveLength(2);
    for (const m of ms) expect(m.raw.buffer).toBe(chunk.buffer);
    expect(ms[0]!.raw.byteOffset).toBe(chunk.byteOffset);
    expect(ms[1]!.raw.equals(serialize.sync())).toBe(true);
  });

  it('parses the same messages whatever the chunk boundaries', () => {
    const stream = Buffer.concat([
      STARTUP,
      serialize.query('select 1; select 2'),
      serialize.parse({ name: 'a', text: 'select $1::int', types: [23] }),
      serialize.bind({ statement: 'a', values: ['42'] }),
      serialize.describe({ type: 'P', name: '' }),
      serialize.execute({ rows: 0 }),
      serialize.sync(),
      serialize.copyData(Buffer.alloc(300, 7)),
      serialize.end(),
    ]);
    const expected = parseAll([stream]).map(plain);
    expect(expected).toHaveLength(9);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(parseAll([stream.subarray(0, cut), stream.subarray(cut)]).map(plain)).toEqual(expected);
    }
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(parseAll(bytes).map(plain)).toEqual(expected);
    for (let cut = 1; cut + 7 < stream.length; cut += 7) {
      const three = [stream.subarray(0, cut), stream.subarray(cut, cut + 7), stream.subarray(cut + 7)];
      expect(parseAll(three).map(plain)).toEqual(expected);
    }
  });
});

describe('FrontendParser rejects malformed typed messages', () => {
  const cases: [string, Buffer, string, RegExp][] = [
    ['unknown type', msg('Z', ''), '08P01', /invalid frontend message type 90/],
    ['length < 4', Buffer.from([0x51, 0, 0, 0, 3]), '08P01', /invalid message length 3/],
    ['negative length', Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff]), '08P01', /invalid message length -1/],
    ['Query without NUL', msg('Q', 'select 1'), '08P01', /Query.*unterminated/],
    ['Query with trailing bytes', msg('Q', 'select 1\0x'), '08P01', /trailing/],
    ['Parse with a short type list', msg('P', '\0select 1\0', int16(2), int32(23)), '08P01', /Parse/],
    [
      'Bind truncated in a value',
      msg('B', '\0\0', int16(0), int16(1), int32(10), [1, 2]),
      '08P01',
      /truncated/,
    ],
    ['Bind with bad value length', msg('B', '\0\0', int16(0), int16(1), int32(-2), int16(0)), '08P01', /-2/],
    [
      'Bind with format count mismatch',
      msg('B', '\0\0', int16(2), int16(0), int16(0), int16(1), int32(-1), int16(0)),
      '08P01',
      /2 parameter formats for 1/,
    ],
    [
      'Bind with format code 2',
      msg('B', '\0\0', int16(1), int16(2), int16(0), int16(0)),
      '08P01',
      /format code 2/,
    ],
    ['Describe with bad target', msg('D', 'X', 'n\0'), '08P01', /target/],
    ['Describe empty', msg('D', ''), '08P01', /truncated/],
    ['Close without name', msg('C', 'S'), '08P01', /unterminated/],
    ['Execute truncated', msg('E', '\0', [0, 0]), '08P01', /truncated/],
    ['Sync with payload', msg('S', [0]), '08P01', /Sync/],
    ['Terminate with payload', msg('X', [1]), '08P01', /Terminate/],
    ['CopyFail unterminated', msg('f', 'oops'), '08P01', /CopyFail/],
    ['FunctionCall missing result format', msg('F', int32(1), int16(0), int16(0)), '08P01', /FunctionCall/],
  ];
  for (const [name, raw, sqlstate, text] of cases) {
    it(name, () => {
      expectProtocolError(() => afterStartup(raw), sqlstate, text);
    });
  }

  it('rejects an oversized message as soon as its header arrives, with 54000', () => {
    const p = new FrontendParser({ maxMessageSize: 64 });
    p.push(STARTUP);
    p.read();
    p.push(Buffer.from([0x51, 0, 0, 0, 65]));
    expectProtocolError(() => p.read(), '54000', /65 bytes exceeds the limit of 64/);
    expectProtocolError(() => p.read(), '54000');
    const ok = new FrontendParser({ maxMessageSize: 64 });
    expect(parseAll([STARTUP, msg('Q', 'x'.repeat(59) + '\0')], { maxMessageSize: 64 })).toHaveLength(2);
    expect(ok.phase).toBe('startup');
  });

  it('applies the smaller control-message limit to Sync, Describe, Execute…', () => {
    const big = msg('D', 'S', 'n'.repeat(20_000) + '\0');
    expectProtocolError(() => afterStartup(big), '54000', /'D'/);
    const bigQuery = msg('Q', 'x'.repeat(20_000) + '\0');
    expect(afterStartup(bigQuery)).toHaveLength(1);
  });

  it('rejects an unknown type byte before the length arrives', () => {
    const p = new FrontendParser();
    p.push(STARTUP);
    p.read();
    p.push(Buffer.from([0x00]));
    expectProtocolError(() => p.read(), '08P01', /type 0/);
  });

  it('never throws anything but PgProtocolError on random bytes, in either phase', () => {
    const typed = fc.oneof(
      fc.uint8Array({ maxLength: 48 }),
      fc
        .tuple(fc.constantFrom(...'BCDEFHPQSXcdfp'), fc.uint8Array({ maxLength: 40 }))
        .map(([t, body]) => new Uint8Array(msg(t, Buffer.from(body)))),
    );
    fc.assert(
      fc.property(fc.boolean(), typed, fc.integer({ min: 1, max: 9 }), (startup, bytes, step) => {
        const p = new FrontendParser({ maxMessageSize: 256 });
        const buf = Buffer.from(bytes);
        try {
          if (!startup) Array.from(p.feed(STARTUP));
          for (let i = 0; i < buf.length; i += step) Array.from(p.feed(buf.subarray(i, i + step)));
        } catch (e) {
          expect(e).toBeInstanceOf(PgProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('validates options', () => {
    expect(() => new FrontendParser({ maxMessageSize: 0 })).toThrow(RangeError);
    expect(() => new FrontendParser({ maxMessageSize: 1.5 })).toThrow(RangeError);
  });
});

function plainWithoutRaw(m: FrontendMessage): unknown {
  const { raw: _raw, ...rest } = m;
  return plain(rest);
}
