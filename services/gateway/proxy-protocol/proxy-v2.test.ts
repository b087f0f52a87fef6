import { describe, expect, it } from 'vitest';
import { encodeProxyV2, ipv6, parseProxyV2, PROXY_V2_SIGNATURE } from './proxy-v2.js';

const V4 = encodeProxyV2({
  source: { address: '203.0.113.7', port: 51234 },
  destination: { address: '10.0.0.5', port: 6432 },
});
const V6 = encodeProxyV2({
  source: { address: '2001:db8::1', port: 40000 },
  destination: { address: '2001:db8:0:0:1::2', port: 22 },
});

describe('parseProxyV2', () => {
  it('reads an IPv4 PROXY header (HAProxy send-proxy-v2, 28 bytes)', () => {
    expect(V4.length).toBe(28);
    expect(parseProxyV2(V4, 1024)).toEqual({
      kind: 'header',
      header: {
        command: 'proxy',
        bytes: 28,
        source: { address: '203.0.113.7', port: 51234 },
        destination: { address: '10.0.0.5', port: 6432 },
      },
    });
  });

  it('reads an IPv6 header, and skips TLVs after the addresses', () => {
    const tlv = Uint8Array.from([0x05, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_UNIQUE_ID "abc"
    const withTlv = encodeProxyV2(
      { source: { address: '2001:db8::1', port: 40000 }, destination: { address: '::1', port: 22 } },
      tlv,
    );
    const r = parseProxyV2(Buffer.concat([withTlv, Buffer.from('SSH-2.0-x\r\n')]), 1024);
    expect(r).toMatchObject({
      kind: 'header',
      header: { command: 'proxy', bytes: 16 + 36 + 6, source: { address: '2001:db8::1', port: 40000 } },
    });
    expect(parseProxyV2(V6, 1024)).toMatchObject({
      header: { destination: { address: '2001:db8::1:0:0:2', port: 22 } },
    });
  });

  it('takes LOCAL (health checks) and UNSPEC/UNIX families as the balancer itself', () => {
    expect(parseProxyV2(encodeProxyV2('local'), 1024)).toEqual({
      kind: 'header',
      header: { command: 'local', bytes: 16 },
    });
    const unix = Buffer.concat([
      PROXY_V2_SIGNATURE,
      Buffer.from([0x21, 0x31, 0x00, 0xd8]),
      Buffer.alloc(216),
    ]);
    expect(parseProxyV2(unix, 1024)).toEqual({ kind: 'header', header: { command: 'local', bytes: 232 } });
  });

  it('asks for more at every split point, and never reads past the header', () => {
    for (let i = 0; i < V4.length; i++)
      expect(parseProxyV2(V4.subarray(0, i), 1024)).toEqual({ kind: 'incomplete' });
  });

  it('refuses anything else with the reason', () => {
    const bad = (b: Buffer | Uint8Array, max = 1024) => parseProxyV2(b, max);
    expect(bad(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'))).toEqual({
      kind: 'invalid',
      reason: 'no PROXY protocol v2 signature',
    });
    // A PostgreSQL SSLRequest is no header either (a direct client on a trusted address).
    expect(bad(Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]))).toMatchObject({ kind: 'invalid' });
    const v1 = Buffer.from(V4);
    v1[12] = 0x11;
    expect(bad(v1)).toEqual({ kind: 'invalid', reason: 'PROXY protocol version 1, not 2' });
    const cmd = Buffer.from(V4);
    cmd[12] = 0x22;
    expect(bad(cmd)).toEqual({ kind: 'invalid', reason: 'unknown PROXY protocol command 2' });
    const fam = Buffer.from(V4);
    fam[13] = 0x41;
    expect(bad(fam)).toEqual({ kind: 'invalid', reason: 'unknown PROXY protocol address family 4' });
    const short = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x00, 0x04]), Buffer.alloc(4)]);
    expect(bad(short)).toEqual({ kind: 'invalid', reason: 'INET address block of 4 bytes' });
    const huge = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
    expect(bad(huge, 1024)).toEqual({
      kind: 'invalid',
      reason: 'PROXY protocol header of 65551 bytes (bound 1024)',
    });
  });
});

describe('ipv6 text', () => {
  const bytes = (...groups: number[]) => {
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
    return b;
  };
  it.each([
    ['2001:db8::1', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['2001:db8:0:1::1', [0x2001, 0xdb8, 0, 1, 0, 0, 0, 1]],
    ['2001:0:0:1::1', [0x2001, 0, 0, 1, 0, 0, 0, 1]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
    ['1:0:3:4:5:6:7:8', [1, 0, 3, 4, 5, 6, 7, 8]],
    ['::ffff:192.0.2.1', [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]],
  ])('%s', (text, groups) => expect(ipv6(bytes(...groups))).toBe(text));
});
