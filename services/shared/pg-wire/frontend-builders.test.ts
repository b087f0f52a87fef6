import { describe, expect, it } from 'vitest';
import {
  bindMessage,
  cancelRequest,
  describeMessage,
  passwordMessage,
  queryMessage,
  saslInitialResponse,
  saslResponse,
  sslRequest,
  startupMessage,
} from './frontend-builders.js';
import { decodeSaslInitialResponse } from './frontend-decoders.js';
import type { FrontendMessage, PasswordMessage } from './frontend-messages.js';
import { FrontendParser } from './frontend-parser.js';
import { PgProtocolError } from './errors.js';

const hex = (b: Buffer): string => b.toString('hex');

/** Parses a startup-phase packet and then typed messages, as the gateway's listener does. */
function parse(...messages: Buffer[]): FrontendMessage[] {
  const p = new FrontendParser();
  const out = messages.flatMap((m) => [...p.feed(m)]);
  expect(p.bufferedBytes).toBe(0);
  return out;
}

function password(m: FrontendMessage | undefined): PasswordMessage {
  if (m?.type !== 'PasswordMessage') throw new Error(`expected a PasswordMessage, got ${m?.type}`);
  return m;
}

describe('frontend builders produce exact bytes', () => {
  it('login packets: SSLRequest, StartupMessage, CancelRequest', () => {
    expect(hex(sslRequest())).toBe('0000000804d2162f');
    expect(hex(cancelRequest(7, -2))).toBe('0000001004d2162e00000007fffffffe');
    // protocol 3.0, user=u, then client_encoding=UTF8 as the pg driver sends it, then the terminator
    expect(startupMessage({ user: 'u' }).toString('latin1')).toBe(
      '\0\0\0\x25\0\x03\0\0user\0u\0client_encoding\0UTF8\0\0',
    );
  });

  it('authentication answers: password, SASLInitialResponse, SASLResponse', () => {
    expect(passwordMessage('tok').toString('latin1')).toBe('p\0\0\0\x08tok\0');
    expect(saslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=x').toString('latin1')).toBe(
      'p\0\0\0\x1fSCRAM-SHA-256\0\0\0\0\x09n,,n=,r=x',
    );
    expect(saslResponse('c=biws').toString('latin1')).toBe('p\0\0\0\x0ac=biws');
  });

  it('the denial probe: Query, Bind without parameters, Describe', () => {
    expect(queryMessage('SELECT 1').toString('latin1')).toBe('Q\0\0\0\x0dSELECT 1\0');
    // portal '', statement 's', no parameter formats, no parameters, one result format: text
    expect(hex(bindMessage('', 's'))).toBe('420000000f0073000000000000010000');
    expect(describeMessage('P', 'p').toString('latin1')).toBe('D\0\0\0\x07Pp\0');
    expect(describeMessage('S', '').toString('latin1')).toBe('D\0\0\0\x06S\0');
  });
});

describe('frontend builders round-trip through FrontendParser', () => {
  it('startup and login', () => {
    const [ssl, startup, pw, initial, final] = parse(
      sslRequest(),
      startupMessage({ user: 'alice', database: 'app' }),
      passwordMessage('token'),
      saslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=abc'),
      saslResponse('c=biws,r=abc,p=xyz'),
    );
    expect(ssl?.type).toBe('SSLRequest');
    expect(startup).toMatchObject({
      type: 'StartupMessage',
      protocolVersion: 0x0003_0000,
      parameters: { user: 'alice', database: 'app', client_encoding: 'UTF8' },
    });
    expect(password(pw).password).toBe('token');
    const sasl = decodeSaslInitialResponse(password(initial));
    expect(sasl.mechanism).toBe('SCRAM-SHA-256');
    expect(sasl.data?.toString()).toBe('n,,n=,r=abc');
    expect(password(final).data.toString()).toBe('c=biws,r=abc,p=xyz');
    expect(parse(cancelRequest(1, 2))).toMatchObject([{ type: 'CancelRequest', processId: 1, secretKey: 2 }]);
  });

  it('session messages', () => {
    const [, q, b, d] = parse(
      startupMessage({ user: 'u' }),
      queryMessage('SELECT "gatehouse_denied_x"'),
      bindMessage('', 'gatehouse_denied_x'),
      describeMessage('P', 'cur'),
    );
    expect(q).toMatchObject({ type: 'Query', sql: 'SELECT "gatehouse_denied_x"' });
    expect(b).toMatchObject({
      type: 'Bind',
      portal: '',
      statement: 'gatehouse_denied_x',
      params: [],
      resultFormats: [0],
    });
    expect(d).toMatchObject({ type: 'Describe', target: 'P', name: 'cur' });
  });
});

describe('decodeSaslInitialResponse', () => {
  const asPassword = (data: Buffer): PasswordMessage => ({
    type: 'PasswordMessage',
    data,
    password: null,
    raw: data,
  });

  it('reads a response without data (length -1)', () => {
    const data = Buffer.from('SCRAM-SHA-256\0\xff\xff\xff\xff', 'latin1');
    expect(decodeSaslInitialResponse(asPassword(data))).toEqual({ mechanism: 'SCRAM-SHA-256', data: null });
  });

  it('rejects a missing mechanism terminator, a bad or short length and trailing bytes', () => {
    const bad = [
      Buffer.from('SCRAM', 'latin1'),
      Buffer.from('M\0\xff\xff\xff\xfe', 'latin1'),
      Buffer.from('M\0\0\0\0\x05ab', 'latin1'),
      Buffer.from('M\0\0\0\0\x01ab', 'latin1'),
    ];
    for (const b of bad) expect(() => decodeSaslInitialResponse(asPassword(b))).toThrow(PgProtocolError);
  });
});
