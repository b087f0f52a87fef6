/**
 * The PROXY protocol version 2 header (HAProxy's `send-proxy-v2`): what a load balancer writes first on a TCP
 * connection so that the server learns the client's address. Pure: bytes in, a typed result out.
 *
 *   12 bytes signature \r\n\r\n\0\r\nQUIT\n · 1 byte version (2) << 4 | command (0 LOCAL, 1 PROXY)
 *   1 byte family (1 INET, 2 INET6, 3 UNIX, 0 UNSPEC) << 4 | transport · 2 bytes length (big endian) · addresses, TLVs
 */

export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

/** Bytes before the address block. */
export const PROXY_V2_FIXED_BYTES = 16;

export type ProxyAddress = { readonly address: string; readonly port: number };

export type ProxyHeader =
  /** LOCAL (the balancer's own connection, e.g. a health check) or an address family it does not name. */
  | { readonly command: 'local'; readonly bytes: number }
  | {
      readonly command: 'proxy';
      readonly bytes: number;
      readonly source: ProxyAddress;
      readonly destination: ProxyAddress;
    };

export type ProxyParse =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'header'; readonly header: ProxyHeader }
  | { readonly kind: 'invalid'; readonly reason: string };

const INCOMPLETE: ProxyParse = { kind: 'incomplete' };

/** Parses a header at the start of `buf`; `maxBytes` bounds the whole header (addresses and TLVs). */
export function parseProxyV2(buf: Uint8Array, maxBytes: number): ProxyParse {
  const seen = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < seen; i++) {
    if (buf[i] !== PROXY_V2_SIGNATURE[i])
      return { kind: 'invalid', reason: 'no PROXY protocol v2 signature' };
  }
  if (buf.length < PROXY_V2_FIXED_BYTES) return INCOMPLETE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: `PROXY protocol version ${verCmd >> 4}, not 2` };
  const command = verCmd & 0x0f;
  if (command > 1) return { kind: 'invalid', reason: `unknown PROXY protocol command ${command}` };
  const family = buf[13]! >> 4;
  const length = (buf[14]! << 8) | buf[15]!;
  const bytes = PROXY_V2_FIXED_BYTES + length;
  if (bytes > maxBytes)
    return { kind: 'invalid', reason: `PROXY protocol header of ${bytes} bytes (bound ${maxBytes})` };
  if (buf.length < bytes) return INCOMPLETE;
  if (command === 0) return { kind: 'header', header: { command: 'local', bytes } };
  const block = buf.subarray(PROXY_V2_FIXED_BYTES, bytes);
  const port = (at: number): number => (block[at]! << 8) | block[at + 1]!;
  switch (family) {
    case 1: // INET: 4 + 4 address bytes, 2 + 2 port bytes
      if (length < 12) return { kind: 'invalid', reason: `INET address block of ${length} bytes` };
      return proxied(bytes, ipv4(block.subarray(0, 4)), port(8), ipv4(block.subarray(4, 8)), port(10));
    case 2: // INET6: 16 + 16, 2 + 2
      if (length < 36) return { kind: 'invalid', reason: `INET6 address block of ${length} bytes` };
      return proxied(bytes, ipv6(block.subarray(0, 16)), port(32), ipv6(block.subarray(16, 32)), port(34));
    case 0: // UNSPEC
    case 3: // UNIX: no IP address to report; the connection is taken as the balancer's own
      return { kind: 'header', header: { command: 'local', bytes } };
    default:
      return { kind: 'invalid', reason: `unknown PROXY protocol address family ${family}` };
  }
}

function proxied(bytes: number, src: string, srcPort: number, dst: string, dstPort: number): ProxyParse {
  return {
    kind: 'header',
    header: {
      command: 'proxy',
      bytes,
      source: { address: src, port: srcPort },
      destination: { address: dst, port: dstPort },
    },
  };
}

function ipv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function ipv6(b: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return `::ffff:${ipv4(b.subarray(12))}`;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** A PROXY v2 header (for tests and tools): PROXY over TCP from `source` to `destination`, or LOCAL. */
export function encodeProxyV2(
  h: { source: ProxyAddress; destination: ProxyAddress } | 'local',
  tlvs: Uint8Array = new Uint8Array(0),
): Buffer {
  if (h === 'local') return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const v6 = h.source.address.includes(':');
  const addr = (a: string): Buffer => (v6 ? ipv6Bytes(a) : Buffer.from(a.split('.').map(Number)));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(h.source.port, 0);
  ports.writeUInt16BE(h.destination.port, 2);
  const block = Buffer.concat([addr(h.source.address), addr(h.destination.address), ports, tlvs]);
  const head = Buffer.from([0x21, v6 ? 0x21 : 0x11, block.length >> 8, block.length & 0xff]);
  return Buffer.concat([PROXY_V2_SIGNATURE, head, block]);
}

function ipv6Bytes(a: string): Buffer {
  const [left, right] = a.includes('::') ? a.split('::') : [a, undefined];
  const l = left ? left.split(':') : [];
  const r = right !== undefined && right !== '' ? right.split(':') : [];
  const groups = [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}
