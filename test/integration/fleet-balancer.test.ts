import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { psql, run } from '../support/clients.js';
import { collectEvents } from '../support/event-collector.js';
import type { EventCollector } from '../support/event-collector.js';
import { exited, sessionStreams, startFleet, streamComplete } from '../support/fleet.js';
import type { Fleet } from '../support/fleet.js';

// Three gateway processes behind HAProxy (the configuration `npm run cluster:up` uses), driven by real pgbench and
// psql through the balancer.

let fleet: Fleet;
let events: EventCollector;
let token: string;
const SESSIONS_OPENED = 'gatehouse_gateway_sessions_opened_total';

beforeAll(async () => {
  fleet = await startFleet({ basePort: 22000, nodes: 3 });
  events = collectEvents(fleet.sessionsTopic);
  token = await fleet.idp.issueToken({
    user: 'fleet-agent',
    agent: true,
    groups: ['agents'],
    ttlSeconds: 600,
  });
});

afterAll(async () => {
  await events?.stop();
  await fleet?.stop();
});

function pgbench(seconds: number, clients: number) {
  return run(
    'pgbench',
    ['-n', '-S', '-T', String(seconds), '-c', String(clients), '-j', '2'],
    {
      ...process.env,
      PGHOST: '127.0.0.1',
      PGPORT: String(fleet.pgPort),
      PGUSER: 'fleet-agent',
      PGDATABASE: 'demo-pgbench',
      PGPASSWORD: token,
      PGSSLMODE: 'require',
      PGCONNECT_TIMEOUT: '5',
    },
    (seconds + 30) * 1000,
  );
}

const opened = (n: Fleet['nodes'][number]) => n.metric(SESSIONS_OPENED, 'protocol="postgres"');

describe('gateway nodes behind HAProxy', () => {
  it('pgbench through the balancer spreads its sessions over every node (per-node session counters)', async () => {
    const before = await Promise.all(fleet.nodes.map(opened));
    const r = await pgbench(3, 6);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/number of transactions actually processed: [1-9]/);
    const after = await Promise.all(fleet.nodes.map(opened));
    const perNode = after.map((a, i) => a - before[i]!);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(6);
    for (const n of perNode) expect(n).toBeGreaterThanOrEqual(1); // least connections: 2 each in practice
  });

  it('kill -9 of a node mid-run: its clients get an error at once, new connections land on the others within 2 s, surviving streams are complete', async () => {
    const since = BigInt(Date.now()) * 1000n;
    const bench = pgbench(8, 6);
    const victim = fleet.nodes[0]!;
    await expect
      .poll(() => fleet.nodes[0]!.metric('gatehouse_gateway_sessions', 'protocol="postgres"'), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const killedAt = Date.now();
    victim.proc.kill('SIGKILL');
    await exited(victim, 5_000);

    // A new connection right after the crash: HAProxy re-dispatches it (the dead port refuses) or skips the node.
    let connectedAt = 0;
    for (let attempt = 0; connectedAt === 0 && Date.now() - killedAt < 5_000; attempt++) {
      const probe = await psql(fleet.pgPort, 'demo-pgbench', token, ['select 1']);
      if (probe.status === 0 && probe.stdout.trim() === '1') connectedAt = Date.now();
    }
    expect(connectedAt, 'a new connection succeeded').toBeGreaterThan(0);
    expect(connectedAt - killedAt).toBeLessThanOrEqual(2_000);
    await fleet.waitForStatus(victim.id, /^DOWN/);
    for (let i = 0; i < 4; i++) {
      expect((await psql(fleet.pgPort, 'demo-pgbench', token, ['select 1'])).status).toBe(0);
    }

    // The dead node's pgbench clients were told (no hang): pgbench ends on time, reporting them aborted.
    const startedWait = Date.now();
    const r = await bench;
    expect(Date.now() - startedWait).toBeLessThan(15_000);
    expect(r.stderr).toMatch(/abort|server closed the connection|connection/i);
    expect(r.stdout).toMatch(/number of transactions actually processed: [1-9]/);

    // Every session of the surviving nodes is recorded whole: opened, every seq, closed.
    const survivors = fleet.nodes.slice(1).map((n) => n.id);
    const streams = await events.waitFor(() => {
      const s = sessionStreams(events.records, survivors, since);
      return s.size >= 4 + 5 && [...s.values()].every(streamComplete) ? s : undefined;
    }, 30_000);
    expect(streams.size).toBeGreaterThanOrEqual(9); // ≥ 4 pgbench clients + 5 psql probes
    expect(sessionStreams(events.records, [victim.id], since).size).toBeGreaterThanOrEqual(1);
  });
});
