import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { proxyProtocolSchema } from '../proxy-protocol/proxy-config.js';
import { encodeProxyV2 } from '../proxy-protocol/proxy-v2.js';
import { TcpAcceptor } from './tcp-acceptor.js';

let acceptor: TcpAcceptor | undefined;
afterEach(() => acceptor?.close());

/** An acceptor behind a balancer at 127.0.0.2; resolves with the socket it hands to ssh2. */
async function start(): Promise<{ port: number; handed: Promise<Socket>; acceptor: TcpAcceptor }> {
  let hand: (s: Socket) => void = () => undefined;
  const handed = new Promise<Socket>((r) => (hand = r));
  acceptor = new TcpAcceptor({
    authTimeoutMs: 5_000,
    maxConnections: 10,
    proxyProtocol: proxyProtocolSchema.parse({ trustedProxies: ['127.0.0.2'] }),
    log: createLogger({ service: 'test', level: 'silent' }),
    onSocket: hand,
    onTimeout: () => undefined,
  });
  const port = await acceptor.listen(0, '127.0.0.1');
  return { port, handed, acceptor };
}

const firstLine = (s: Socket): Promise<string> =>
  new Promise((resolve) => {
    let t = '';
    s.on('data', (c: Buffer) => {
      t += c.toString('latin1');
      if (t.includes('\n')) resolve(t);
    });
  });

describe('TcpAcceptor behind a balancer (PROXY protocol v2)', () => {
  it("hands ssh2 the socket after the balancer's header, with the client it names as the login's address", async () => {
    const { port, handed, acceptor } = await start();
    const header = encodeProxyV2({
      source: { address: '198.51.100.20', port: 50022 },
      destination: { address: '127.0.0.1', port },
    });
    const c = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }, () =>
      c.write(Buffer.concat([header, Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')])),
    );
    const socket = await handed;
    expect(await firstLine(socket)).toBe('SSH-2.0-OpenSSH_9.2\r\n');
    const pending = acceptor.pending(`${socket.remoteAddress}:${socket.remotePort}`);
    expect(pending).toMatchObject({ peer: `127.0.0.2:${c.localPort}`, clientAddr: '198.51.100.20:50022' });
    c.destroy();
  });

  it('a direct client (any other address) is handed over at once, as itself', async () => {
    const { port, handed, acceptor } = await start();
    const c = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
    const socket = await handed;
    expect(acceptor.pending(`${socket.remoteAddress}:${socket.remotePort}`)?.clientAddr).toBe(
      `127.0.0.1:${c.localPort}`,
    );
    c.destroy();
  });
});
