import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalView } from '../../services/approval/model/view.js';
import { api, eventually } from '../support/approval.js';
import { psql } from '../support/clients.js';
import { exited, startFleet } from '../support/fleet.js';
import type { Fleet, FleetNode } from '../support/fleet.js';
import { direct } from '../support/pg-masking.js';

// Held requests on a fleet behind HAProxy: a person's DDL on demo-pg waits for a dba. Nodes renew their hold lease
// every 500 ms for 2 s, so a dead node's approval ends `abandoned` within about 2 s.

let fleet: Fleet;
let requester: string;
let dba: string;
const run = Date.now().toString(36);

beforeAll(async () => {
  fleet = await startFleet({
    basePort: 22100,
    nodes: 3,
    approvals: { holdRenewMs: 500, holdLeaseMs: 2_000 },
  });
  requester = await fleet.idp.issueToken({
    user: 'alice',
    email: 'alice@example.com',
    groups: ['engineering'],
  });
  dba = await fleet.idp.issueToken({ user: 'dora', email: 'dora@example.com', groups: ['dba'] });
});

afterAll(async () => {
  await fleet?.stop();
});

const tableExists = async (table: string) =>
  (await direct(`select to_regclass('public.${table}') is not null as present`)).rows[0]?.present === true;

async function pendingFor(needle: string): Promise<ApprovalView> {
  return eventually(
    async () => {
      const r = await api(fleet.approval!.url, 'GET', '/v1/approvals?state=pending', dba);
      return r.body.approvals?.find((a) => a.request.text.includes(needle));
    },
    30_000,
    `pending approval for ${needle}`,
  );
}

const nodeOf = (id: string): FleetNode => fleet.nodes.find((n) => n.id === id)!;

describe('approvals held on a fleet', () => {
  it('an approval given through the service resumes the request only on the node that holds it', async () => {
    const table = `fleet_held_${run}`;
    const client = psql(fleet.pgPort, 'demo-pg', requester, [
      `create table ${table} (id int)`,
      `select count(*) from ${table}`,
    ]);
    const pending = await pendingFor(table);
    const holder = nodeOf(pending.nodeId);
    expect(holder, `node ${pending.nodeId} is one of the fleet`).toBeDefined();
    const ok = await api(fleet.approval!.url, 'POST', `/v1/approvals/${pending.id}/approve`, dba);
    expect(ok.status).toBe(200);
    const r = await client;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('CREATE TABLE\n0'); // ran once, on the holding node's session
    // Every node read the decision from the approvals log; only the holder acted on it.
    for (const n of fleet.nodes) {
      const decided = n.logged('approval decided').filter((l) => l.approval === pending.id);
      expect(decided, n.id).toHaveLength(n === holder ? 1 : 0);
    }
    await direct(`drop table if exists ${table}`);
  });

  it('when the holding node dies, the approval ends abandoned and a late approve answers 409', async () => {
    const table = `fleet_orphan_${run}`;
    const client = psql(fleet.pgPort, 'demo-pg', requester, [`create table ${table} (id int)`]);
    const pending = await pendingFor(table);
    const holder = nodeOf(pending.nodeId);
    const killedAt = Date.now();
    holder.proc.kill('SIGKILL');
    await exited(holder, 5_000);
    // The client is told at once (its connection is gone), it does not hang until the approval's expiry.
    const r = await client;
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/server closed the connection|connection/i);

    const ended = await eventually(
      async () => {
        const v = (await api(fleet.approval!.url, 'GET', `/v1/approvals/${pending.id}`, dba)).body.approval;
        return v?.state === 'abandoned' ? v : undefined;
      },
      15_000,
      'the approval to end abandoned',
    );
    expect(Date.now() - killedAt).toBeLessThan(10_000); // lease 2 s + the service's sweep, not the 900 s expiry
    expect(ended.decision?.reason).toMatch(new RegExp(`${holder.id} stopped renewing its hold`));
    const late = await api(fleet.approval!.url, 'POST', `/v1/approvals/${pending.id}/approve`, dba);
    expect(late.status).toBe(409);
    expect(await tableExists(table)).toBe(false);
  });
});
