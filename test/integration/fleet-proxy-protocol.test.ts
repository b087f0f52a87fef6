import { connect } from 'node:net';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { useFleet } from '../support/fleet.js';
import { RawPgClient } from '../support/raw-pg.js';
import { encodeProxyV2 } from '../../services/gateway/proxy-protocol/proxy-v2.js';

// A node behind HAProxy with `send-proxy-v2` from 127.0.0.2, the one address it trusts for PROXY protocol headers
// (the shape `npm run cluster:up` runs): sessions, decisions and refusals name the real client, here 127.0.0.3.

const BALANCER = '127.0.0.2';
const fx = useFleet(
  { basePort: 26000, nodes: 1, proxyProtocol: { balancerSource: BALANCER } },
  'proxy-agent',
);

/** Everything the node answers on a raw TCP connection from `localAddress` to `port` after writing `bytes`. */
function exchange(port: number, bytes: Buffer, localAddress = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect({ host: '127.0.0.1', port, localAddress }, () => s.write(bytes));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    setTimeout(() => s.destroy(), 10_000).unref();
  });
}

describe('PROXY protocol v2 from the balancer', () => {
  it('the client behind HAProxy is the session client, in the policy input and the log', async () => {
    const { fleet, events, token } = fx;
    const client = await RawPgClient.connect(fleet.pgPort, 'demo-pg', token, { localAddress: '127.0.0.3' });
    await client.send(serialize.query('SELECT 1'));
    client.close();
    const node = fleet.nodes[0]!;
    await expect
      .poll(() => node.logged('session opened').map((l) => l.client))
      .toContainEqual(expect.stringMatching(/^127\.0\.0\.3:\d+$/));
    const decision = await events.waitFor((records) =>
      records
        .map((r) => r.event.body)
        .find((b) => b.case === 'decision' && b.value.inputSessionJson.includes('127.0.0.3')),
    );
    expect(JSON.parse((decision.value as { inputSessionJson: string }).inputSessionJson)).toMatchObject({
      client_addr: '127.0.0.3',
    });
  });

  it('a refused login names the real client too', async () => {
    const { fleet } = fx;
    // A StartupMessage without TLS: FATAL 28000, recorded as a refused login.
    const answer = await exchange(
      fleet.pgPort,
      serialize.startup({ user: 'x', database: 'demo-pg' }),
      '127.0.0.4',
    );
    expect(answer.toString('latin1')).toContain('28000');
    await expect
      .poll(() => fleet.nodes[0]!.logged('login refused').map((l) => l.client))
      .toContainEqual(expect.stringMatching(/^127\.0\.0\.4:\d+$/));
  });

  it('a header from any other peer is never believed; the trusted address without a header is closed', async () => {
    const node = fx.fleet.nodes[0]!;
    const spoof = encodeProxyV2({
      source: { address: '198.51.100.9', port: 1234 },
      destination: { address: '127.0.0.1', port: node.pgPort },
    });
    // Straight to the node from 127.0.0.1 (not the balancer): the header is protocol bytes, refused as such.
    const direct = await exchange(node.pgPort, Buffer.concat([spoof, serialize.requestSsl()]));
    expect(direct.toString('latin1')).toMatch(/08P01/);
    // From the balancer's address but without a header: closed before any protocol byte.
    const noHeader = await exchange(node.pgPort, serialize.requestSsl(), BALANCER);
    expect(noHeader.length).toBe(0);
    await expect
      .poll(() => node.logged('PROXY protocol header refused; connection closed').map((l) => l.reason))
      .toContain('no PROXY protocol v2 signature');
    expect(node.output.join('\n')).not.toContain('198.51.100.9');
  });
});
