import { describe, expect, it } from 'vitest';
import {
  api,
  approvalTestConfig,
  ddlRequest,
  folded,
  identity,
  startTestApprovalService,
  startTestWaiter,
} from '../support/approval.js';
import { useApprovalFlowFixture } from '../support/approval-flow.js';

/**
 * Just-in-time approvals against real Kafka and a real OpenID Provider: the gateway-side waiter publishes the
 * request, reviewers act through the approval service's HTTP API, the waiter resolves from the log.
 */
const fx = useApprovalFlowFixture();

describe('approval flow', () => {
  it('a dba member approves over HTTP and the waiting request resolves approved, with a reuse grant', async () => {
    const pending = fx.gw.waiter.request(
      ddlRequest({ requestText: 'ALTER TABLE users ADD COLUMN nickname text' }),
    );
    expect(await pending.published).toBe(true);
    expect(pending.approveUrl).toBe(`${fx.service.url}/approvals/${pending.approvalId}`);
    await folded(fx.service, pending.approvalId);

    const list = await api(fx.service.url, 'GET', '/v1/approvals?state=pending', fx.tokens.bob);
    expect(list.status).toBe(200);
    const listed = list.body.approvals.find((a) => a.id === pending.approvalId);
    expect(listed).toMatchObject({
      state: 'pending',
      requester: { sub: 'alice', agent: true },
      connection: { name: 'demo-pg', tags: { env: 'prod' } },
      protocol: 'postgres',
      request: { text: 'ALTER TABLE users ADD COLUMN nickname text', fingerprint: 'a'.repeat(64) },
      reasons: ['DDL on connection demo-pg requires approval by dba'],
      groups: ['dba'],
      approvalsNeeded: 1,
    });
    // an outsider does not even see it
    const outsiderList = await api(fx.service.url, 'GET', '/v1/approvals?state=pending', fx.tokens.dave);
    expect(outsiderList.body.approvals.some((a) => a.id === pending.approvalId)).toBe(false);

    const res = await api(
      fx.service.url,
      'POST',
      `/v1/approvals/${pending.approvalId}/approve`,
      fx.tokens.bob,
      {
        reason: 'planned migration',
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.approval.state).toBe('approved');
    expect(res.body.approval.decision).toMatchObject({
      outcome: 'approved',
      reviewer: { sub: 'bob' },
      approverGroups: ['dba'],
    });

    const outcome = await pending.outcome;
    expect(outcome.outcome).toBe('approved');
    expect(outcome.reviewer?.sub).toBe('bob');
    expect(outcome.approvers.map((a) => a.sub)).toEqual(['bob']);
    expect(outcome.reason).toBe('planned migration');

    const grants = fx.gw.waiter.grantsFor('alice', 'demo-pg', 'a'.repeat(64));
    expect(grants).toEqual([
      expect.objectContaining({
        id: pending.approvalId,
        sub: 'alice',
        connection: 'demo-pg',
        groups: ['dba'],
        approvals: 1,
      }),
    ]);
    const g = grants[0]!;
    expect(g.expires_at - g.approved_at).toBe(300);
    expect(fx.gw.waiter.grantsFor('alice', 'other-db', 'a'.repeat(64))).toEqual([]);

    // deciding again is a conflict
    const again = await api(
      fx.service.url,
      'POST',
      `/v1/approvals/${pending.approvalId}/reject`,
      fx.tokens.carol,
      {
        reason: 'late',
      },
    );
    expect(again.status).toBe(409);
    expect(again.body.error).toEqual({
      code: 'GH_ERR_APPROVAL_CONFLICT',
      message: 'the request was already approved',
    });
  });

  it('rejects with a reason (a rejection without one is a 400)', async () => {
    const pending = fx.gw.waiter.request(ddlRequest({ fingerprint: 'b'.repeat(64) }));
    await folded(fx.service, pending.approvalId);
    const noReason = await api(
      fx.service.url,
      'POST',
      `/v1/approvals/${pending.approvalId}/reject`,
      fx.tokens.bob,
      {},
    );
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toEqual({
      code: 'GH_ERR_APPROVAL_REASON_REQUIRED',
      message: 'a rejection requires a reason',
    });
    const res = await api(
      fx.service.url,
      'POST',
      `/v1/approvals/${pending.approvalId}/reject`,
      fx.tokens.carol,
      {
        reason: 'not during business hours',
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.approval.state).toBe('rejected');
    const outcome = await pending.outcome;
    expect(outcome).toMatchObject({ outcome: 'rejected', reason: 'not during business hours' });
    expect(outcome.reviewer?.sub).toBe('carol');
    expect(fx.gw.waiter.grantsFor('alice', 'demo-pg', 'b'.repeat(64))).toEqual([]);
  });

  it('expires when nobody acts: the waiter times out and the service records expired', async () => {
    const pending = fx.gw.waiter.request(ddlRequest({ ttlSeconds: 2 }));
    const started = Date.now();
    const outcome = await pending.outcome;
    expect(outcome.outcome).toBe('expired');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    const record = await folded(fx.service, pending.approvalId);
    const decided = await (async () => {
      for (let i = 0; i < 100; i++) {
        const r = fx.service.store.get(pending.approvalId);
        if (r?.decision) return r.decision;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return undefined;
    })();
    expect(record.request.ttlSeconds).toBe(2);
    expect(decided).toMatchObject({
      outcome: 'expired',
      reason: 'no decision within 2 s',
      by: fx.service.instanceId,
    });
    const late = await api(
      fx.service.url,
      'POST',
      `/v1/approvals/${pending.approvalId}/approve`,
      fx.tokens.bob,
    );
    expect(late.status).toBe(409);
    expect(late.body.error.message).toBe('the request was already expired');
  });

  it('refuses self-approval, outsiders and agents with 403, bad tokens with 401, unknown ids with 404', async () => {
    const pending = fx.gw.waiter.request(ddlRequest());
    await folded(fx.service, pending.approvalId);
    const path = `/v1/approvals/${pending.approvalId}/approve`;

    const self = await api(fx.service.url, 'POST', path, fx.tokens.alice);
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('GH_ERR_APPROVAL_SELF');
    expect(self.body.error.message).toBe(
      'self-approval is not allowed: you requested this approval; another member of dba must approve it',
    );
    const outsider = await api(fx.service.url, 'POST', path, fx.tokens.dave);
    expect(outsider.status).toBe(403);
    expect(outsider.body.error).toEqual({
      code: 'GH_ERR_APPROVAL_FORBIDDEN',
      message: 'only members of dba may review this request',
    });
    const robot = await api(fx.service.url, 'POST', path, fx.tokens.robot);
    expect(robot.status).toBe(403);
    expect(robot.body.error.message).toBe('AI agents cannot review approvals');
    const outsiderGet = await api(
      fx.service.url,
      'GET',
      `/v1/approvals/${pending.approvalId}`,
      fx.tokens.dave,
    );
    expect(outsiderGet.status).toBe(403);

    const noToken = await api(fx.service.url, 'POST', path, undefined);
    expect(noToken.status).toBe(401);
    expect(noToken.body.error.code).toBe('GH_ERR_APPROVAL_UNAUTHENTICATED');
    const badToken = await api(fx.service.url, 'POST', path, `${fx.tokens.bob!.slice(0, -4)}AAAA`);
    expect(badToken.status).toBe(401);
    expect(badToken.body.error.message).toBe('token signature is invalid');
    const unknown = await api(
      fx.service.url,
      'GET',
      '/v1/approvals/00000000-0000-4000-8000-000000000000',
      fx.tokens.bob,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('GH_ERR_APPROVAL_NOT_FOUND');

    // nothing of this counted: still pending, with the refusals nowhere in the log
    const get = await api(fx.service.url, 'GET', `/v1/approvals/${pending.approvalId}`, fx.tokens.alice);
    expect(get.status).toBe(200);
    expect(get.body.approval.state).toBe('pending');
    expect(get.body.approval.history.map((h) => h.kind)).toEqual(['requested']);
    fx.gw.waiter.cancel(pending.approvalId);
    expect((await pending.outcome).outcome).toBe('unavailable');
  });

  it('needs N distinct approvers', async () => {
    const pending = fx.gw.waiter.request(ddlRequest({ approvalsNeeded: 2, fingerprint: 'c'.repeat(64) }));
    await folded(fx.service, pending.approvalId);
    const path = `/v1/approvals/${pending.approvalId}/approve`;
    const first = await api(fx.service.url, 'POST', path, fx.tokens.bob);
    expect(first.status).toBe(200);
    expect(first.body.approval).toMatchObject({
      state: 'pending',
      approvals: [{ reviewer: { sub: 'bob' } }],
    });
    const twice = await api(fx.service.url, 'POST', path, fx.tokens.bob);
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toBe('you already approved this request; it needs 2 distinct approvers');
    const second = await api(fx.service.url, 'POST', path, fx.tokens.carol);
    expect(second.status).toBe(200);
    expect(second.body.approval.state).toBe('approved');
    const outcome = await pending.outcome;
    expect(outcome.approvers.map((a) => a.sub)).toEqual(['bob', 'carol']);
    expect(fx.gw.waiter.grantsFor('alice', 'demo-pg', 'c'.repeat(64))[0]).toMatchObject({
      approvals: 2,
      groups: ['dba'],
    });
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const base = `http://127.0.0.1:${fx.service.healthPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', caughtUp: true, kafka: true });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_approval_events_folded_total\{kind="requested"\} \d+/);
    expect(metrics).toMatch(
      /gatehouse_approval_decisions_published_total\{outcome="approved",trigger="review"\} \d+/,
    );
  });
});

// These build on the approvals decided above (two approved requests; alice's grant for fingerprint a…a).
describe('approval history', () => {
  it('rebuilds from the log after a crash: a pending request is still pending and approvable', async () => {
    const crashing = await startTestApprovalService(approvalTestConfig(fx));
    const pending = fx.gw.waiter.request(ddlRequest({ requestText: 'DROP INDEX users_email_idx' }));
    await folded(crashing, pending.approvalId);
    await crashing.abort(); // no drain, no cleanup

    const restarted = await startTestApprovalService(approvalTestConfig(fx));
    try {
      const get = await api(restarted.url, 'GET', `/v1/approvals/${pending.approvalId}`, fx.tokens.bob);
      expect(get.status).toBe(200);
      expect(get.body.approval).toMatchObject({
        state: 'pending',
        request: { text: 'DROP INDEX users_email_idx' },
      });
      // the earlier decided approvals were rebuilt too
      const approved = await api(restarted.url, 'GET', '/v1/approvals?state=approved', fx.tokens.bob);
      expect(approved.body.approvals.length).toBeGreaterThanOrEqual(2);
      const res = await api(
        restarted.url,
        'POST',
        `/v1/approvals/${pending.approvalId}/approve`,
        fx.tokens.carol,
      );
      expect(res.status).toBe(200);
      expect(res.body.approval.state).toBe('approved');
      expect((await pending.outcome).outcome).toBe('approved');
    } finally {
      await restarted.stop({ timeoutMs: 5_000 });
    }
  });

  it('learns grants from history when it starts after the decision', async () => {
    const later = await startTestWaiter({ topic: fx.topic, approvalUrl: fx.service.url, nodeId: 'gw-late' });
    try {
      await later.waiter.caughtUp;
      expect(later.waiter.grantsFor('alice', 'demo-pg', 'a'.repeat(64)).length).toBeGreaterThanOrEqual(1);
      expect(later.waiter.grantsFor(identity('mallory').sub, 'demo-pg', 'a'.repeat(64))).toEqual([]);
    } finally {
      await later.stop();
    }
  });
});
