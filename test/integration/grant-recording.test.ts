import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../proto/gen/gatehouse/v1/events_pb.js';
import type { ApprovalWaiter } from '../../services/gateway/approvals/approval-waiter.js';
import { sqlFingerprint, sshFingerprint } from '../../services/gateway/policy/index.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import {
  api,
  approvalTestConfig,
  eventually,
  folded,
  identity,
  startTestApprovalService,
  startTestIdp,
  startTestWaiter,
} from '../support/approval.js';
import { pgClient } from '../support/clients.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { brokerCount, testKafka } from '../support/kafka.js';
import { SessionEventReader } from '../support/session-events.js';
import { runSsh, startSshGatewayFixture } from '../support/ssh-gateway.js';
import type { SshGatewayFixture } from '../support/ssh-gateway.js';

/*
 * The decision event's `grant_approval_id` names the grant the decision relied on (the policy says so in
 * `grants_used`), and nothing else: not a grant that merely exists for a request the policy allowed for another
 * reason. The same for every protocol, since both go through the one request pipeline.
 */

const run = randomUUID().slice(0, 6);

/** The recorded decision of the request whose text is exactly `text` (waits for it to reach the topic). */
function decisionOf(reader: SessionEventReader, text: string): Promise<Decision> {
  return eventually(
    () => {
      const request = reader.events.find((e) => e.body.case === 'request' && e.body.value.text === text);
      if (request?.body.case !== 'request') return undefined;
      const id = request.body.value.requestId;
      const d = reader.events.find(
        (e) =>
          e.sessionId === request.sessionId && e.body.case === 'decision' && e.body.value.requestId === id,
      );
      return d?.body.case === 'decision' ? d.body.value : undefined;
    },
    30_000,
    `the decision on ${text}`,
  );
}

/**
 * Asks `waiter` to approve `fingerprint` for `sub` on `connection` with a reuse window, has `reviewer` approve it
 * through the approval API, and resolves once the waiter learned the grant (its id).
 */
async function grantFor(
  waiter: ApprovalWaiter,
  service: RunningApprovalService,
  reviewer: string,
  r: { sub: string; agent: boolean; connection: string; protocol: string; text: string; fingerprint: string },
  group: string,
): Promise<string> {
  const pending = waiter.request({
    sessionId: randomUUID(),
    requester: identity(r.sub, [], r.agent),
    connection: { name: r.connection },
    protocol: r.protocol,
    requestText: r.text,
    fingerprint: r.fingerprint,
    reasons: ['an earlier approval'],
    groups: [group],
    approvalsNeeded: 1,
    ttlSeconds: 60,
    reuseSeconds: 600,
  });
  expect(await pending.published).toBe(true);
  await folded(service, pending.approvalId);
  const res = await api(service.url, 'POST', `/v1/approvals/${pending.approvalId}/approve`, reviewer, {
    reason: 'reuse is fine',
  });
  expect(res.status).toBe(200);
  expect((await pending.outcome).outcome).toBe('approved');
  expect(waiter.grantsFor(r.sub, r.connection, r.fingerprint).map((g) => g.id)).toContain(pending.approvalId);
  return pending.approvalId;
}

describe('grant recording on PostgreSQL', () => {
  let fx: GatewayFixture;
  let side: Awaited<ReturnType<typeof startTestWaiter>>;
  let reader: SessionEventReader;
  let alice: string;
  let dora: string;

  beforeAll(async () => {
    // DDL approvals on demo-pg may be reused for 10 minutes here (0 in the shipped example policy).
    fx = await startGatewayFixture({
      approvals: true,
      editPolicyData: (data) => {
        const text = JSON.stringify(data).replace('"reuse_seconds":0', '"reuse_seconds":600');
        Object.assign(data, JSON.parse(text));
      },
    });
    side = await startTestWaiter({ topic: `${fx.sessionsTopic}.approvals`, approvalUrl: fx.approval!.url });
    reader = new SessionEventReader(fx.sessionsTopic);
    alice = await fx.idp.issueToken({ user: 'alice', email: 'alice@example.com', groups: ['engineering'] });
    dora = await fx.idp.issueToken({ user: 'dora', email: 'dora@example.com', groups: ['dba'] });
  });

  afterAll(async () => {
    await reader?.stop();
    await side?.stop();
    await fx?.stop();
  });

  it('records the grant a reused approval allowed, and no grant for a request allowed for another reason', async () => {
    // A grant for a read the policy allows anyway (approved before anything else below, so the gateway has it).
    const probe = `select 1 as gh_grant_probe_${run}`;
    const probeGrant = await grantFor(
      side.waiter,
      fx.approval!,
      dora,
      {
        sub: 'alice',
        agent: false,
        connection: 'demo-pg',
        protocol: 'postgres',
        text: probe,
        fingerprint: sqlFingerprint(probe),
      },
      'dba',
    );

    // DDL: held, approved by a dba (with a reuse window), then run again: allowed by that grant.
    const ddl = `create table if not exists gh_grant_${run} (id int)`;
    const client = await pgClient(fx.pgPort, 'demo-pg', alice);
    try {
      const held = client.query(ddl);
      const pending = await eventually(async () => {
        const r = await api(fx.approval!.url, 'GET', '/v1/approvals?state=pending', dora);
        return r.body.approvals.find((a) => JSON.stringify(a).includes(`gh_grant_${run}`));
      });
      const ok = await api(fx.approval!.url, 'POST', `/v1/approvals/${pending.id}/approve`, dora, {
        reason: 'fine',
      });
      expect(ok.status).toBe(200);
      await held;
      const first = await decisionOf(reader, ddl);
      expect(first).toMatchObject({ allow: false, approvalRequired: true, grantApprovalId: '' });

      const again = `${ddl} `; // same fingerprint (the text is trimmed), another request event to find
      await client.query(again);
      const reused = await decisionOf(reader, again);
      expect(reused.allow).toBe(true);
      expect(reused.grantApprovalId).toBe(pending.id);
      expect(reused.reasons.some((x) => x.startsWith(`approved earlier (grant ${pending.id})`))).toBe(true);
      expect(JSON.parse(reused.decisionJson)).toMatchObject({ grants_used: [pending.id] });

      await client.query(probe);
      const allowed = await decisionOf(reader, probe);
      expect(allowed.allow).toBe(true);
      expect(allowed.grantApprovalId).toBe('');
      expect(JSON.parse(allowed.decisionJson)).toMatchObject({ grants_used: [] });
      expect(probeGrant).not.toBe('');
    } finally {
      await client.end();
    }
  });
});

describe('grant recording on SSH', () => {
  let fx: SshGatewayFixture;
  let side: Awaited<ReturnType<typeof startTestWaiter>>;
  let service: RunningApprovalService;
  let reviewerIdp: Awaited<ReturnType<typeof startTestIdp>>;
  let reader: SessionEventReader;
  let agent: string;
  let carol: string;
  const sub = `agent-grant-${run}`;

  beforeAll(async () => {
    const topic = `test.grant-approvals.${run}`;
    const rf = Math.min(3, brokerCount());
    await ensureTopics(testKafka(), [
      { name: topic, partitions: 6, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 },
    ]);
    reviewerIdp = await startTestIdp();
    service = await startTestApprovalService(approvalTestConfig({ topic, idp: reviewerIdp }));
    side = await startTestWaiter({ topic, approvalUrl: service.url });
    // The gateway's approvals are this waiter: a grant it learned is one the SSH decider offers the policy.
    fx = await startSshGatewayFixture({ approvalService: side.waiter });
    reader = new SessionEventReader(fx.sessionsTopic);
    agent = await fx.idp.issueToken({ user: sub, agent: true, groups: ['agents'] });
    carol = await reviewerIdp.issueToken({ user: 'carol', email: 'carol@example.test', groups: ['oncall'] });
  });

  afterAll(async () => {
    await reader?.stop();
    await fx?.stop();
    await side?.stop();
    await service?.stop();
    await reviewerIdp?.stop();
  });

  const exec = (command: string) => ({
    sub,
    agent: true,
    connection: 'demo-ssh',
    protocol: 'ssh',
    text: command,
    fingerprint: sshFingerprint({ type: 'exec', command, pty: false }),
  });

  it('records the grant a reused approval allowed', async () => {
    const command = `rm -f /tmp/gh-grant-${run}`;
    const grant = await grantFor(side.waiter, service, carol, exec(command), 'oncall');
    const r = await runSsh(fx.port, 'demo-ssh', agent, [command]);
    expect(r.stderr).not.toContain('approval required');
    expect(r.status).toBe(0);
    const d = await decisionOf(reader, command);
    expect(d.allow).toBe(true);
    expect(d.grantApprovalId).toBe(grant);
    expect(d.reasons).toEqual([`approved earlier (grant ${grant}): command rm requires approval by oncall`]);
  });

  it('records no grant for a request the policy allowed for another reason', async () => {
    const command = 'uname -a';
    await grantFor(side.waiter, service, carol, exec(command), 'oncall');
    const r = await runSsh(fx.port, 'demo-ssh', agent, [command]);
    expect(r.status).toBe(0);
    const d = await decisionOf(reader, command);
    expect(d.allow).toBe(true);
    expect(d.grantApprovalId).toBe('');
    expect(JSON.parse(d.decisionJson)).toMatchObject({ grants_used: [] });
  });
});
