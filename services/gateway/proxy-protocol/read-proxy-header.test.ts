import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { proxyProtocolSchema } from './proxy-config.js';
import { encodeProxyV2 } from './proxy-v2.js';
import { clientBehind, ProxyHeaderError } from './read-proxy-header.js';

const HEADER = encodeProxyV2({
  source: { address: '203.0.113.7', port: 51234 },
  destination: { address: '127.0.0.1', port: 6432 },
});

let server: Server | undefined;
afterEach(() => server?.close());

/** A server on 127.0.0.1 that hands its first accepted socket over; the client writes `chunks` one by one. */
async function accepted(chunks: readonly Buffer[]): Promise<{ socket: Socket; client: Socket }> {
  const got = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server!.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  for (const c of chunks) {
    client.write(c);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { socket: await got, client };
}

const read = (socket: Socket): Promise<string> =>
  new Promise((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.endsWith('\n')) resolve(text);
    });
  });

const config = (trusted: string[], over: object = {}) =>
  proxyProtocolSchema.parse({ trustedProxies: trusted, ...over });

describe('clientBehind', () => {
  it("a trusted peer's header names the client; the bytes after it reach the protocol untouched", async () => {
    const { socket, client } = await accepted([
      HEADER.subarray(0, 10),
      Buffer.concat([HEADER.subarray(10), Buffer.from('SSH-2.0-')]),
      Buffer.from('OpenSSH\n'),
    ]);
    const behind = await clientBehind(socket, config(['127.0.0.1']));
    expect(behind).toEqual({ address: { address: '203.0.113.7', port: 51234 }, proxied: true });
    const text = read(socket);
    socket.resume();
    expect(await text).toBe('SSH-2.0-OpenSSH\n');
    client.destroy();
  });

  it('any other peer is the client itself: nothing is read, a header it sends stays protocol bytes', async () => {
    const { socket, client } = await accepted([Buffer.concat([HEADER, Buffer.from('\n')])]);
    const behind = await clientBehind(socket, config(['127.0.0.9']));
    expect(behind).toEqual({ address: { address: '127.0.0.1', port: client.localPort }, proxied: false });
    expect(await read(socket)).toBe(Buffer.concat([HEADER, Buffer.from('\n')]).toString('latin1'));
    client.destroy();
  });

  it('a LOCAL header (a health check) leaves the balancer as the client', async () => {
    const { socket, client } = await accepted([encodeProxyV2('local')]);
    expect(await clientBehind(socket, config(['::ffff:127.0.0.1']))).toEqual({
      address: { address: '127.0.0.1', port: client.localPort },
      proxied: true,
    });
    client.destroy();
  });

  it('refuses a trusted peer that sends no header, a bad one, or none in time', async () => {
    const direct = await accepted([Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f])]);
    await expect(clientBehind(direct.socket, config(['127.0.0.1']))).rejects.toEqual(
      new ProxyHeaderError('no PROXY protocol v2 signature'),
    );
    direct.client.destroy();
    server?.close();
    const silent = await accepted([]);
    await expect(clientBehind(silent.socket, config(['127.0.0.1'], { headerTimeoutMs: 50 }))).rejects.toEqual(
      new ProxyHeaderError('no PROXY protocol header within 50 ms'),
    );
    silent.client.destroy();
  });

  it('the configuration takes only IP addresses', () => {
    expect(
      proxyProtocolSchema.safeParse({ trustedProxies: ['haproxy.internal'] }).error?.issues[0],
    ).toMatchObject({
      path: ['trustedProxies', 0],
      message: 'must be an IP address',
    });
    expect(proxyProtocolSchema.safeParse({ trustedProxies: [] }).success).toBe(false);
  });
});
