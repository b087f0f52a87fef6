import { describe, expect, it } from 'vitest';
import { MemoryApprovals } from '../../../dev/pipeline-fixtures/memory-approvals.js';
import { decision, ONCALL_APPROVAL, testSession } from '../../../dev/pipeline-fixtures/pipeline-session.js';
import type { Decision } from '../policy/index.js';
import { createSshDecider, EXIT_DENIED, EXIT_GATEWAY_ERROR } from './ssh-decider.js';

function setup(d: Decision, approvals?: MemoryApprovals) {
  const t = testSession(d, approvals ? { approvals } : {});
  const decide = createSshDecider(t.session);
  const notes: string[] = [];
  const hooks = { notify: (l: string) => notes.push(l), signal: new AbortController().signal };
  return { ...t, decide, hooks, notes };
}

describe('createSshDecider', () => {
  it('builds the ssh policy input and makes an allowed decision durable before answering', async () => {
    const t = setup(
      decision({ allow: true, reasons: ['ok'], mask: { columns: [], fields: [], detectors: ['email'] } }),
    );
    const v = await t.decide({ type: 'exec', command: 'uname -a', pty: false }, 1, t.hooks);
    expect(v).toMatchObject({ allow: true, detectors: ['email'], revision: 'rev1', exitStatus: 0 });
    const input = t.inputs[0]!;
    expect(input.connection).toEqual({ name: 'demo', protocol: 'ssh', tags: { env: 'demo' } });
    expect(input.request).toMatchObject({
      kind: 'ssh',
      ssh: { type: 'exec', command: 'uname -a', pty: false },
    });
    expect(input.request.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const bodies = t.publisher.bodies();
    expect(bodies.map((b) => [b.mode, b.body.case])).toEqual([
      ['batched', 'request'],
      ['durable', 'decision'],
    ]);
    expect(bodies[0]!.body.value).toMatchObject({ requestId: 1, kind: 'ssh.exec', text: 'uname -a' });
  });

  it('refuses with the reasons (126); approval without approvals names the approver groups', async () => {
    const t = setup(
      decision({ reasons: ['command rm requires approval by oncall'], approval: ONCALL_APPROVAL }),
    );
    const v = await t.decide({ type: 'exec', command: 'rm -rf /tmp/x', pty: false }, 3, t.hooks);
    expect(v).toMatchObject({ allow: false, exitStatus: EXIT_DENIED });
    expect(v.reasons).toEqual(['command rm requires approval by oncall', 'approval required from oncall']);
    expect(t.publisher.calls.map((c) => c.mode)).toEqual(['batched', 'batched']);
  });

  it('holds approval-required requests, announcing on stderr where to approve', async () => {
    const bob = { sub: 'bob', email: '', groups: ['oncall'], agent: false, issuer: 'i', client_id: '' };
    for (const outcome of ['approved', 'rejected', 'unavailable'] as const) {
      const approvals = new MemoryApprovals();
      const t = setup(decision({ reasons: ['needs approval'], approval: ONCALL_APPROVAL }), approvals);
      const pending = t.decide({ type: 'shell', pty: true }, 2, t.hooks);
      await new Promise((r) => setTimeout(r, 0));
      approvals.decide({ outcome, reviewer: bob, approvers: [bob], reason: 'no' });
      const v = await pending;
      expect(t.notes).toEqual([
        'gatehouse: approval required: needs approval',
        'gatehouse: waiting for approval ap-1 at http://approvals.test/approvals/ap-1',
      ]);
      expect(approvals.requests[0]).toMatchObject({ protocol: 'ssh', requestText: 'ssh.shell' });
      expect(v.allow).toBe(outcome === 'approved');
      expect(v.exitStatus).toBe(outcome === 'approved' ? 0 : EXIT_DENIED);
      expect(v.reasons).toEqual([
        {
          approved: 'approved by bob',
          rejected: 'approval ap-1 rejected by bob: no',
          unavailable: 'approval service unavailable: no',
        }[outcome],
      ]);
      expect(t.publisher.calls.map((c) => c.mode)).toEqual(['batched', 'durable', 'batched', 'durable']);
    }
  });

  it('fails closed (255) when the audit log refuses', async () => {
    const t = setup(decision({ allow: true, reasons: ['ok'] }));
    t.publisher.refuse = Object.assign(new Error('kafka down'), { code: 'GH_ERR_PUBLISH_UNAVAILABLE' });
    const v = await t.decide({ type: 'exec', command: 'id', pty: false }, 1, t.hooks);
    expect(v).toMatchObject({ allow: false, exitStatus: EXIT_GATEWAY_ERROR });
    expect(v.reasons).toEqual(['audit log unavailable: request not forwarded']);
  });
});
