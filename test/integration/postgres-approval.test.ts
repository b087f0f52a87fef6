import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually } from '../support/approval.js';
import { pgClient, psql } from '../support/clients.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';

let fx: GatewayFixture;
let requester: string;
let dba: string;
let outsider: string;

beforeAll(async () => {
  // DDL approvals on demo-pg expire after 6 s here (900 s in the shipped example policy).
  fx = await startGatewayFixture({
    approvals: true,
    editPolicyData: (data) => {
      const text = JSON.stringify(data).replace('"ttl_seconds":900', '"ttl_seconds":6');
      Object.assign(data, JSON.parse(text));
    },
  });
  requester = await fx.idp.issueToken({ user: 'alice', email: 'alice@example.com', groups: ['engineering'] });
  dba = await fx.idp.issueToken({ user: 'dora', email: 'dora@example.com', groups: ['dba'] });
  outsider = await fx.idp.issueToken({ user: 'eve', email: 'eve@example.com', groups: ['engineering'] });
});

afterAll(async () => {
  await fx?.stop();
});

type View = { id: string; state: string; request_text?: string; requestText?: string };

/** The pending approval whose request text contains `needle`, as the approval service lists it. */
async function pendingFor(needle: string): Promise<View> {
  return eventually(
    async () => {
      const r = await api(fx.approval!.url, 'GET', '/v1/approvals?state=pending', dba);
      const list = (r.body as unknown as { approvals: (View & Record<string, unknown>)[] }).approvals ?? [];
      return list.find((a) => JSON.stringify(a).includes(needle));
    },
    30_000,
    `pending approval for ${needle}`,
  );
}

describe('just-in-time approval of PostgreSQL statements', () => {
  it('psql DDL waits, is approved by a dba through the HTTP API, then executes', async () => {
    const table = `gh_approval_${Date.now()}`;
    const run = psql(fx.pgPort, 'demo-pg', requester, [
      `create table ${table} (id int)`,
      `select count(*) from ${table}`,
    ]);
    const pending = await pendingFor(table);
    // Self-approval and outsiders are refused with clear errors.
    const self = await api(fx.approval!.url, 'POST', `/v1/approvals/${pending.id}/approve`, requester);
    expect(self.status).toBe(403);
    expect(JSON.stringify(self.body)).toMatch(/own request|self/i);
    const other = await api(fx.approval!.url, 'POST', `/v1/approvals/${pending.id}/approve`, outsider);
    expect(other.status).toBe(403);
    const ok = await api(fx.approval!.url, 'POST', `/v1/approvals/${pending.id}/approve`, dba);
    expect(ok.status).toBe(200);
    const r = await run;
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`approval ${pending.id}`); // the NOTICE that said what is awaited and where
    expect(r.stderr).toContain(fx.approval!.url);
    expect(r.stdout.trim()).toBe('CREATE TABLE\n0'); // it ran, and the next statement saw the table
  });

  it('a rejection reaches psql as an error with the reviewer and the reason', async () => {
    const table = `gh_reject_${Date.now()}`;
    const run = psql(fx.pgPort, 'demo-pg', requester, [`create table ${table} (id int)`]);
    const pending = await pendingFor(table);
    const res = await api(fx.approval!.url, 'POST', `/v1/approvals/${pending.id}/reject`, dba, {
      reason: 'not during the freeze',
    });
    expect(res.status).toBe(200);
    const r = await run;
    expect(r.stderr).toMatch(
      /ERROR:\s+42501: gatehouse: approval .* rejected by dora@example.com: not during the freeze/,
    );
  });

  it('other sessions are unaffected while one statement waits', async () => {
    const table = `gh_wait_${Date.now()}`;
    const held = psql(fx.pgPort, 'demo-pg', requester, [`create table ${table} (id int)`]);
    const pending = await pendingFor(table);
    const c = await pgClient(fx.pgPort, 'demo-pg', outsider);
    const r = await c.query('select 1 as one');
    expect(r.rows).toEqual([{ one: 1 }]);
    await c.end();
    await api(fx.approval!.url, 'POST', `/v1/approvals/${pending.id}/reject`, dba, { reason: 'test over' });
    await held;
  });

  it('an approval that nobody decides expires and the statement is refused', async () => {
    const table = `gh_expire_${Date.now()}`;
    const run = psql(fx.pgPort, 'demo-pg', requester, [`create table ${table} (id int)`]);
    const pending = await pendingFor(table);
    expect(pending.state).toBe('pending');
    const r = await run;
    expect(r.stderr).toMatch(/ERROR:\s+42501: gatehouse: approval .* expired without a decision/);
    const check = await pgClient(fx.pgPort, 'demo-pg', dba);
    const exists = await check.query('select to_regclass($1) is not null as exists', [table]);
    await check.end();
    expect(exists.rows).toEqual([{ exists: false }]);
  });
});
