import { describe, expect, it } from 'vitest';
import { pgClient, psql } from '../support/clients.js';
import { exited, sessionStreams, streamComplete, useFleet } from '../support/fleet.js';

// SIGTERM of a node behind HAProxy: /readyz turns 503 first (HAProxy takes the node out of rotation), then the
// listeners stop accepting, open sessions get `drainTimeoutMs` to finish, the audit log is flushed, exit 0.

const UNREADY_MS = 1_500;
const DRAIN_MS = 4_000;
const fx = useFleet(
  {
    basePort: 22200,
    nodes: 2,
    gateway: {
      unreadyBeforeDrainMs: UNREADY_MS,
      shutdown: { drainTimeoutMs: DRAIN_MS, exitTimeoutMs: 20_000 },
    },
  },
  'drain-agent',
);

describe('draining a node behind HAProxy', () => {
  it('SIGTERM: /readyz 503 first, new clients go elsewhere, open sessions finish or time out, nothing lost', async () => {
    const { fleet, events, token } = fx;
    const [draining, other] = [fleet.nodes[0]!, fleet.nodes[1]!];
    const since = BigInt(Date.now()) * 1000n;
    // Two sessions on the node to drain: one finishes during the drain, one stays idle and is cut at the bound.
    const finishing = await pgClient(draining.pgPort, 'demo-pg', token);
    const idle = await pgClient(draining.pgPort, 'demo-pg', token);
    let idleError: Error | undefined;
    idle.on('error', (err) => (idleError = err));
    const idleEnded = new Promise<void>((resolve) => idle.on('end', () => resolve()));
    expect((await finishing.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    const otherBefore = await other.metric('gatehouse_gateway_sessions_opened_total', 'protocol="postgres"');

    const termAt = Date.now();
    draining.proc.kill('SIGTERM');
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${draining.healthPort}/readyz`)).status, {
        timeout: 1_000,
        interval: 50,
      })
      .toBe(503);
    const body = (await (await fetch(`http://127.0.0.1:${draining.healthPort}/readyz`)).json()) as {
      draining?: boolean;
    };
    expect(body.draining).toBe(true);
    await fleet.waitForStatus(draining.id, /^DOWN/, 5_000);
    expect(Date.now() - termAt).toBeLessThan(UNREADY_MS + 1_000); // out of rotation before it stops accepting

    // New clients through the balancer land on the other node.
    for (let i = 0; i < 3; i++) {
      const r = await psql(fleet.pgPort, 'demo-pg', token, ['select 1']);
      expect(r.status, r.stderr).toBe(0);
    }
    expect(await other.metric('gatehouse_gateway_sessions_opened_total', 'protocol="postgres"')).toBe(
      otherBefore + 3,
    );

    // The open session still works while the node drains, then finishes on its own.
    expect((await finishing.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
    await finishing.end();
    // The idle one is closed by the node once the drain bound passes (an error, not a hang).
    await idleEnded;
    expect(Date.now() - termAt).toBeGreaterThanOrEqual(UNREADY_MS + DRAIN_MS - 500);
    expect(idleError?.message ?? 'ended').toBeTruthy();
    const { code } = await exited(draining, 20_000);
    expect(code, draining.output.slice(-12).join('\n')).toBe(0);

    // Nothing lost: both sessions are recorded whole, the statement run during the drain included.
    const streams = await events.waitFor(() => {
      const s = sessionStreams(events.records, [draining.id], since);
      return s.size === 2 && [...s.values()].every(streamComplete) ? s : undefined;
    }, 30_000);
    const texts = [...streams.values()]
      .flat()
      .flatMap((e) => (e.body.case === 'request' ? [e.body.value.text] : []));
    expect(texts).toContain('select 2 as two');
  });
});
