import { describe, expect, it } from 'vitest';
import { psql, run } from '../support/clients.js';
import { exited, sessionStreams, streamComplete, useFleet } from '../support/fleet.js';
import type { Fleet } from '../support/fleet.js';

// Three gateway processes behind HAProxy (the configuration `npm run cluster:up` uses), driven by real pgbench and
// psql through the balancer.

const fx = useFleet({ basePort: 22000, nodes: 3 }, 'fleet-agent');
const SESSIONS_OPENED = 'gatehouse_gateway_sessions_opened_total';

/** `pgbench -S` through the balancer; `length` is `-T SECONDS` or `-t TRANSACTIONS` per client. */
function pgbench(length: ['-T' | '-t', number], clients: number) {
  const seconds = length[0] === '-T' ? length[1] : 30;
  return run(
    'pgbench',
    ['-n', '-S', length[0], String(length[1]), '-c', String(clients), '-j', '2'],
    {
      ...process.env,
      PGHOST: '127.0.0.1',
      PGPORT: String(fx.fleet.pgPort),
      PGUSER: 'fleet-agent',
      PGDATABASE: 'demo-pgbench',
      PGPASSWORD: fx.token,
      PGSSLMODE: 'require',
      PGCONNECT_TIMEOUT: '30', // logins are slow on a loaded 2-core CI machine
    },
    (seconds + 30) * 1000,
  );
}

const opened = (n: Fleet['nodes'][number]) => n.metric(SESSIONS_OPENED, 'protocol="postgres"');

describe('gateway nodes behind HAProxy', () => {
  it('pgbench through the balancer spreads its sessions over every node (per-node session counters)', async () => {
    const { fleet } = fx;
    const before = await Promise.all(fleet.nodes.map(opened));
    const r = await pgbench(['-t', 20], 6);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/number of transactions actually processed: [1-9]/);
    const after = await Promise.all(fleet.nodes.map(opened));
    const perNode = after.map((a, i) => a - before[i]!);
    // 6 clients plus pgbench's own first connection (it checks the database before starting its clients).
    expect(
      perNode.reduce((a, b) => a + b, 0),
      JSON.stringify(perNode),
    ).toBe(7);
    for (const n of perNode) expect(n, JSON.stringify(perNode)).toBeGreaterThanOrEqual(2); // least connections
  });

  it('kill -9 of a node mid-run: its clients get an error at once, new connections land on the others within 2 s, surviving streams are complete', async () => {
    const { fleet, events, token } = fx;
    const since = BigInt(Date.now()) * 1000n;
    const bench = pgbench(['-T', 10], 6);
    const victim = fleet.nodes[0]!;
    await expect
      .poll(() => fleet.nodes[0]!.metric('gatehouse_gateway_sessions', 'protocol="postgres"'), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    const t0 = Date.now();
    expect((await psql(fleet.pgPort, 'demo-pgbench', token, ['select 1'])).status).toBe(0);
    const baselineMs = Date.now() - t0;
    victim.proc.kill('SIGKILL');
    await exited(victim, 5_000);

    // New connections right after the crash: HAProxy re-dispatches them (the dead port refuses) or skips the node.
    // Each must succeed at the first attempt; the balancer may add at most 2 s to a login (compared with one before
    // the crash, which measures how slow logins are on this machine).
    const attempts: { ms: number; status: number; stderr: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const t = Date.now();
      const probe = await psql(fleet.pgPort, 'demo-pgbench', token, ['select 1']);
      attempts.push({ ms: Date.now() - t, status: probe.status, stderr: probe.stderr.slice(0, 200) });
    }
    const detail = JSON.stringify({ baselineMs, attempts });
    for (const a of attempts) expect(a.status, detail).toBe(0);
    expect(attempts[0]!.ms, detail).toBeLessThanOrEqual(baselineMs + 2_000);
    await fleet.waitForStatus(victim.id, /^DOWN/);
    for (let i = 0; i < 2; i++) {
      expect((await psql(fleet.pgPort, 'demo-pgbench', token, ['select 1'])).status).toBe(0);
    }

    // The dead node's pgbench clients were told (no hang): pgbench ends on time, reporting them aborted.
    const startedWait = Date.now();
    const r = await bench;
    expect(Date.now() - startedWait).toBeLessThan(15_000);
    // pgbench reports the lost clients (or gives up on the run when a thread loses its last client); either way
    // it says why and never waits for the dead node.
    expect(r.stderr, r.stdout).toMatch(/abort|server closed the connection|connection/i);

    // Every session of the surviving nodes is recorded whole: opened, every seq, closed.
    const survivors = fleet.nodes.slice(1).map((n) => n.id);
    const streams = await events.waitFor(() => {
      const s = sessionStreams(events.records, survivors, since);
      return s.size >= 4 + 5 && [...s.values()].every(streamComplete) ? s : undefined;
    }, 30_000);
    expect(streams.size).toBeGreaterThanOrEqual(9); // ≥ 4 pgbench clients + 5 psql probes after the crash
    expect(sessionStreams(events.records, [victim.id], since).size).toBeGreaterThanOrEqual(1);
  });
});
