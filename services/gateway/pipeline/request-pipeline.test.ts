import { describe, expect, it } from 'vitest';
import { MemoryApprovals } from '../../../dev/pipeline-fixtures/memory-approvals.js';
import { decision, ONCALL_APPROVAL, testSession } from '../../../dev/pipeline-fixtures/pipeline-session.js';
import { failClosedResult } from '../policy/fail-closed.js';
import type { PolicyGrant, SshRequest } from '../policy/index.js';
import { createRequestPipeline } from './request-pipeline.js';
import type { HeldRequest, HoldHooks, RequestDescription, Verdict } from './types.js';

const SSH: SshRequest = {
  kind: 'ssh',
  fingerprint: 'f'.repeat(64),
  ssh: { type: 'exec', command: 'rm -rf /tmp/x', pty: false },
};

function describeExec(over: Partial<RequestDescription> = {}): RequestDescription {
  return {
    protocol: 'ssh',
    requestId: 7,
    kind: 'ssh.exec',
    text: 'rm -rf /tmp/x',
    request: SSH,
    durability: 'durable',
    reviewText: 'rm -rf /tmp/x',
    ...over,
  };
}

function hooks(signal = new AbortController().signal): HoldHooks & { held: HeldRequest[] } {
  const held: HeldRequest[] = [];
  return { held, onHeld: (h) => held.push(h), signal };
}

function grant(id: string): PolicyGrant {
  return {
    id,
    sub: 'agent-7',
    connection: 'demo',
    fingerprint: SSH.fingerprint,
    groups: ['oncall'],
    approvals: 1,
    approved_at: 1,
    expires_at: 4_000_000_000,
  };
}

/** The decision event's recorded grant id. */
function recordedGrant(t: ReturnType<typeof testSession>): string {
  const d = t.publisher.bodies().find((b) => b.body.case === 'decision')?.body;
  if (d?.case !== 'decision') throw new Error('no decision event');
  return d.value.grantApprovalId;
}

describe('createRequestPipeline: evaluate and record', () => {
  it('builds the input, and makes an allowed request durable before answering', async () => {
    const t = testSession(decision({ allow: true, reasons: ['ok'] }));
    const result = createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(result).toBeInstanceOf(Promise);
    const v = await result;
    expect(v).toMatchObject({ kind: 'allow', reasons: ['ok'], revision: 'rev1', batched: false, grant: '' });
    expect(t.inputs[0]).toMatchObject({
      identity: { sub: 'agent-7' },
      connection: { name: 'demo', protocol: 'ssh', tags: { env: 'demo' } },
      session: { id: t.session.audit.sessionId, node: 'n1', client_addr: '127.0.0.1', started_at: 1 },
      request: SSH,
      grants: [],
    });
    expect(t.publisher.bodies().map((b) => [b.mode, b.body.case])).toEqual([
      ['batched', 'request'],
      ['durable', 'decision'],
    ]);
    const [request, decided] = t.publisher.bodies().map((b) => b.body.value);
    expect(request).toMatchObject({ requestId: 7, kind: 'ssh.exec', text: 'rm -rf /tmp/x' });
    expect(decided).toMatchObject({ requestId: 7, allow: true, reasons: ['ok'], grantApprovalId: '' });
    expect(t.results).toHaveLength(1);
  });

  it('answers synchronously and batches both events for a read-only request audited batched', () => {
    const t = testSession(decision({ allow: true, reasons: ['read'], audit: 'batched' }));
    const v = createRequestPipeline(t.session).decide(describeExec({ durability: 'batched' }), hooks());
    expect(v).toMatchObject({ kind: 'allow', batched: true });
    expect(t.publisher.calls.map((c) => c.mode)).toEqual(['batched', 'batched']);
  });

  it('keeps a request the protocol cannot prove read-only durable, whatever the policy audit says', async () => {
    const t = testSession(decision({ allow: true, reasons: ['ok'], audit: 'batched' }));
    const v = await createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(v).toMatchObject({ kind: 'allow', batched: false });
    expect(t.publisher.calls.map((c) => c.mode)).toEqual(['batched', 'durable']);
  });

  it('denies synchronously with the reasons, both events batched', () => {
    const t = testSession(decision({ reasons: ['no'] }));
    const v = createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(v).toEqual({ kind: 'deny', stage: 'policy', reasons: ['no'], revision: 'rev1' });
    expect(t.publisher.calls.map((c) => c.mode)).toEqual(['batched', 'batched']);
  });

  it('denies an approval-required request on a node without approvals, naming the approver groups', () => {
    const t = testSession(decision({ reasons: ['rm needs oncall'], approval: ONCALL_APPROVAL }));
    const v = createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(v).toMatchObject({
      kind: 'deny',
      stage: 'policy',
      reasons: ['rm needs oncall', 'approval required from oncall'],
    });
    expect(t.publisher.calls.map((c) => c.mode)).toEqual(['batched', 'batched']);
  });

  it('applies protocol denials over the policy (which is still evaluated and counted)', () => {
    const t = testSession(decision({ allow: true, reasons: ['ok'], grants_used: ['g1'] }));
    const v = createRequestPipeline(t.session).decide(
      describeExec({ protocolDenials: ['setting search_path is pinned'] }),
      hooks(),
    );
    expect(v).toMatchObject({ kind: 'deny', reasons: ['setting search_path is pinned'] });
    expect(t.results[0]!.decision).toMatchObject({ allow: false, grants_used: [] });
    expect(recordedGrant(t)).toBe('');
  });

  it('logs a fail-closed evaluation and denies', () => {
    const failed = failClosedResult({ code: 'GH_ERR_POLICY_EVAL_FAILED', message: 'boom' }, 'rev1', 3);
    const t = testSession(failed);
    const v = createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(v).toMatchObject({ kind: 'deny', reasons: ['policy evaluation failed: boom'] });
    expect(t.logs.join('')).toContain('policy failed closed');
  });

  it('fails closed (error verdict) when the audit log refuses, before or while publishing', async () => {
    for (const allow of [true, false]) {
      const t = testSession(decision({ allow, reasons: ['r'] }));
      t.publisher.refuse = Object.assign(new Error('kafka down'), { code: 'GH_ERR_PUBLISH_UNAVAILABLE' });
      const v = await createRequestPipeline(t.session).decide(describeExec(), hooks());
      expect(v).toEqual({
        kind: 'error',
        cause: 'audit_unavailable',
        reasons: ['audit log unavailable: request not forwarded'],
        revision: 'rev1',
      });
      expect(t.logs.join('')).toContain('GH_ERR_PUBLISH_UNAVAILABLE');
    }
  });
});

describe('createRequestPipeline: evaluate and recordRequest', () => {
  it('evaluates without events, metrics or grants', () => {
    const approvals = new MemoryApprovals();
    approvals.grants = [grant('ap-1')];
    const t = testSession(decision({ allow: true, reasons: ['listed'] }), { approvals });
    const result = createRequestPipeline(t.session).evaluate({ protocol: 'ssh', request: SSH });
    expect(result.decision).toMatchObject({ allow: true, reasons: ['listed'] });
    expect(t.inputs[0]!.grants).toEqual([]);
    expect(approvals.lookups).toEqual([]);
    expect(t.publisher.calls).toEqual([]);
    expect(t.results).toEqual([]);
  });

  it('records only the request event of a message answered without a decision', () => {
    const t = testSession(decision({}));
    createRequestPipeline(t.session).recordRequest({
      requestId: 3,
      kind: 'ssh.exec',
      text: 'x',
      request: SSH,
    });
    expect(t.publisher.bodies().map((b) => [b.mode, b.body.case])).toEqual([['batched', 'request']]);
    expect(t.inputs).toEqual([]);
  });

  it("sets a protocol's own decision fields, but never over the pipeline's", async () => {
    const t = testSession(decision({ allow: true, reasons: ['ok'], audit: 'batched' }));
    await createRequestPipeline(t.session).decide(
      describeExec({ durability: 'batched', decisionFields: { grantApprovalId: 'forged', evalMicros: 1 } }),
      hooks(),
    );
    expect(recordedGrant(t)).toBe('');
  });
});

describe('createRequestPipeline: grants', () => {
  it('offers the grants for the subject, connection and fingerprint as input.grants', async () => {
    const approvals = new MemoryApprovals();
    approvals.grants = [grant('ap-old')];
    const t = testSession(decision({ allow: true, reasons: ['ok'] }), { approvals });
    await createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(approvals.lookups).toEqual([['agent-7', 'demo', SSH.fingerprint]]);
    expect(t.inputs[0]!.grants).toEqual([grant('ap-old')]);
  });

  it('records the grant the decision relied on', async () => {
    const approvals = new MemoryApprovals();
    approvals.grants = [grant('ap-1'), grant('ap-2')];
    const t = testSession(decision({ allow: true, reasons: ['reused'], grants_used: ['ap-2'] }), {
      approvals,
    });
    const v = await createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(v).toMatchObject({ kind: 'allow', grant: 'ap-2' });
    expect(recordedGrant(t)).toBe('ap-2');
  });

  it('records no grant when the policy allowed for another reason, though grants were offered', async () => {
    const approvals = new MemoryApprovals();
    approvals.grants = [grant('ap-1')];
    const t = testSession(decision({ allow: true, reasons: ['read-only'] }), { approvals });
    const v = await createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(v).toMatchObject({ kind: 'allow', grant: '' });
    expect(recordedGrant(t)).toBe('');
  });

  it('records no grant the policy names but was not offered (logged as a policy bug)', async () => {
    const approvals = new MemoryApprovals();
    approvals.grants = [grant('ap-1')];
    const t = testSession(decision({ allow: true, reasons: ['ok'], grants_used: ['ap-forged'] }), {
      approvals,
    });
    await createRequestPipeline(t.session).decide(describeExec(), hooks());
    expect(recordedGrant(t)).toBe('');
    expect(t.logs.join('')).toContain('policy names grants it was not offered');
  });
});

describe('createRequestPipeline: approval hold', () => {
  const held = decision({ reasons: ['rm needs oncall'], approval: ONCALL_APPROVAL });
  const bob = {
    sub: 'bob',
    email: 'bob@example.com',
    groups: ['oncall'],
    agent: false,
    issuer: 'i',
    client_id: '',
  };

  async function holdUntil(
    settle: (a: MemoryApprovals) => void,
    signal?: AbortSignal,
  ): Promise<{ v: Verdict; t: ReturnType<typeof testSession>; a: MemoryApprovals; h: HeldRequest[] }> {
    const a = new MemoryApprovals();
    const t = testSession(held, { approvals: a });
    const h = hooks(signal);
    const pending = createRequestPipeline(t.session).decide(describeExec({ reviewText: 'review me' }), h);
    await new Promise((r) => setTimeout(r, 0));
    settle(a);
    return { v: await pending, t, a, h: h.held };
  }

  it('publishes the approval request, tells the client where to approve, and forwards once approved', async () => {
    const { v, t, a, h } = await holdUntil((x) =>
      x.decide({ outcome: 'approved', reviewer: bob, approvers: [bob], reason: 'ok' }),
    );
    expect(v).toMatchObject({
      kind: 'approved',
      reasons: ['approved by bob@example.com'],
      approvalId: 'ap-1',
    });
    expect(a.requests[0]).toMatchObject({
      protocol: 'ssh',
      requestText: 'review me',
      fingerprint: SSH.fingerprint,
      reasons: ['rm needs oncall'],
      groups: ['oncall'],
      approvalsNeeded: 1,
      ttlSeconds: 900,
      requestId: 7,
      policyRevision: 'rev1',
    });
    expect(h).toEqual([
      {
        approvalId: 'ap-1',
        approveUrl: 'http://approvals.test/approvals/ap-1',
        expiresAt: new Date(Date.UTC(2026, 0, 1, 0, 15)),
        reasons: ['rm needs oncall'],
        groups: ['oncall'],
        approvalsNeeded: 1,
      },
    ]);
    expect(t.publisher.bodies().map((b) => [b.mode, b.body.case])).toEqual([
      ['batched', 'request'],
      ['durable', 'decision'],
      ['batched', 'approvalRequested'],
      ['durable', 'approvalDecided'],
    ]);
  });

  it('denies a rejected or expired request, and abandons one whose approval service is unavailable', async () => {
    const rejected = await holdUntil((x) =>
      x.decide({ outcome: 'rejected', reviewer: bob, approvers: [], reason: 'not now' }),
    );
    expect(rejected.v).toMatchObject({
      kind: 'deny',
      stage: 'approval',
      reasons: ['approval ap-1 rejected by bob@example.com: not now'],
    });
    const expired = await holdUntil((x) => x.decide({ outcome: 'expired', approvers: [], reason: '' }));
    expect(expired.v).toMatchObject({ kind: 'deny', reasons: ['approval ap-1 expired without a decision'] });
    const gone = await holdUntil((x) =>
      x.decide({ outcome: 'unavailable', approvers: [], reason: 'log down' }),
    );
    expect(gone.v).toEqual({
      kind: 'abandoned',
      reasons: ['approval service unavailable: log down'],
      revision: 'rev1',
      approvalId: 'ap-1',
    });
  });

  it('withdraws the approval when the client goes away', async () => {
    const ac = new AbortController();
    const { v, a } = await holdUntil(() => ac.abort(), ac.signal);
    expect(a.cancelled).toEqual(['ap-1']);
    expect(v).toMatchObject({
      kind: 'abandoned',
      reasons: ['approval service unavailable: the client went away'],
    });
  });

  it('rule() returns the hold for the caller to wait on later', async () => {
    const a = new MemoryApprovals();
    const t = testSession(held, { approvals: a });
    const ruling = await createRequestPipeline(t.session).rule(describeExec());
    expect(ruling).toMatchObject({ kind: 'held', reasons: ['rm needs oncall'], revision: 'rev1' });
    expect(a.requests).toHaveLength(0);
    if (ruling.kind !== 'held') throw new Error('expected a hold');
    const waiting = ruling.wait(hooks());
    a.decide({ outcome: 'expired', approvers: [], reason: '' });
    expect(await waiting).toMatchObject({ kind: 'deny', stage: 'approval' });
  });

  it('fails closed when the approval decision cannot be recorded', async () => {
    const a = new MemoryApprovals();
    const t = testSession(held, { approvals: a });
    const pending = createRequestPipeline(t.session).decide(describeExec(), hooks());
    await new Promise((r) => setTimeout(r, 0));
    t.publisher.refuse = new Error('kafka down');
    a.decide({ outcome: 'approved', reviewer: bob, approvers: [bob], reason: 'ok' });
    expect(await pending).toMatchObject({ kind: 'error', cause: 'audit_unavailable' });
  });
});
