import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../shared/events/codec.js';
import { SessionEvents } from '../../shared/events/session-events.js';
import type { EventPublisher, LogRecord } from '../../shared/log/publisher.js';
import { createLogger } from '../../shared/logger.js';
import type { Decision, PolicyEngine, PolicyInput } from '../policy/index.js';
import { SessionAudit } from '../session-audit.js';
import type { SshApprovalHook } from './approval-hook.js';
import { createSshDecider, EXIT_DENIED, EXIT_GATEWAY_ERROR } from './ssh-decider.js';

const NO_APPROVAL = { required: false, groups: [], approvals_needed: 0, ttl_seconds: 0, reuse_seconds: 0 };
const ONCALL = {
  required: true,
  groups: ['oncall'],
  approvals_needed: 1,
  ttl_seconds: 900,
  reuse_seconds: 0,
};

function decision(over: Partial<Decision>): Decision {
  return {
    allow: false,
    reasons: ['no rule allows this request'],
    approval: NO_APPROVAL,
    mask: { columns: [], fields: [], detectors: [] },
    audit: 'sync',
    ...over,
  };
}

class FakePublisher implements EventPublisher {
  readonly calls: { mode: 'batched' | 'durable'; record: LogRecord }[] = [];
  refuse: Error | null = null;
  publishBatched(record: LogRecord): void {
    if (this.refuse) throw this.refuse;
    this.calls.push({ mode: 'batched', record });
  }
  publishDurable(record: LogRecord): Promise<void> {
    if (this.refuse) return Promise.reject(this.refuse);
    this.calls.push({ mode: 'durable', record });
    return Promise.resolve();
  }
  assertAccepting(): void {
    if (this.refuse) throw this.refuse;
  }
  stats() {
    return {
      bufferedEvents: 0,
      bufferedBytes: 0,
      sentEvents: 0,
      sentBatches: 0,
      failedSends: 0,
      refusedRecords: 0,
      unavailableForMs: 0,
      lastBatchLatencyMs: 0,
    };
  }
  close() {
    return Promise.resolve({ unflushed: 0 });
  }
  bodies() {
    return this.calls.map((c) => ({ mode: c.mode, body: decodeEvent(c.record.value).body }));
  }
}

function setup(d: Decision, awaitApproval?: SshApprovalHook) {
  const publisher = new FakePublisher();
  const inputs: PolicyInput[] = [];
  const policy: PolicyEngine = {
    revision: 'rev1',
    entrypoint: 'gatehouse/main/decision',
    evaluate: (input) => {
      inputs.push(input);
      return { failedClosed: false, decision: d, revision: 'rev1', evalMicros: 12 };
    },
  };
  const identity = {
    sub: 'agent-7',
    email: '',
    groups: ['agents'],
    agent: true,
    issuer: 'https://idp',
    client_id: 'c',
  };
  const connection = { name: 'demo-ssh', tags: { env: 'demo' } };
  const audit = new SessionAudit(
    new SessionEvents({ nodeId: 'n1', protocol: 'ssh', connection, identity }),
    publisher,
    'sessions',
    512 * 1024,
  );
  const decide = createSshDecider({
    policy: () => policy,
    audit,
    identity,
    connection,
    clientAddr: '127.0.0.1',
    startedAt: 1,
    log: createLogger({ service: 'test', level: 'silent' }),
    onDecision: () => undefined,
    awaitApproval,
  });
  const notes: string[] = [];
  const hooks = { notify: (l: string) => notes.push(l), signal: new AbortController().signal };
  return { publisher, inputs, decide, hooks, notes };
}

describe('createSshDecider', () => {
  it('builds the ssh policy input and makes an allowed decision durable before answering', async () => {
    const t = setup(
      decision({ allow: true, reasons: ['ok'], mask: { columns: [], fields: [], detectors: ['email'] } }),
    );
    const v = await t.decide({ type: 'exec', command: 'uname -a', pty: false }, 1, t.hooks);
    expect(v).toMatchObject({ allow: true, detectors: ['email'], revision: 'rev1' });
    const input = t.inputs[0]!;
    expect(input.connection).toEqual({ name: 'demo-ssh', protocol: 'ssh', tags: { env: 'demo' } });
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

  it('refuses with the reasons (126); approval without a waiter names the approver groups', async () => {
    const t = setup(decision({ reasons: ['command rm requires approval by oncall'], approval: ONCALL }));
    const v = await t.decide({ type: 'exec', command: 'rm -rf /tmp/x', pty: false }, 3, t.hooks);
    expect(v).toMatchObject({ allow: false, exitStatus: EXIT_DENIED });
    expect(v.reasons).toEqual(['command rm requires approval by oncall', 'approval required from oncall']);
    expect(t.publisher.calls.map((c) => c.mode)).toEqual(['batched', 'batched']);
  });

  it('hands approval-required requests to the waiter, which can announce where to approve', async () => {
    for (const approved of [true, false]) {
      const t = setup(decision({ reasons: ['needs approval'], approval: ONCALL }), (req) => {
        req.onPending({ approvalId: 'ap-1', url: 'http://approvals/ap-1' });
        return Promise.resolve({
          approved,
          reasons: approved ? ['approved by bob'] : ['rejected by bob: no'],
        });
      });
      const v = await t.decide({ type: 'shell', pty: true }, 2, t.hooks);
      expect(t.notes).toEqual([
        'gatehouse: approval required: needs approval',
        'gatehouse: waiting for approval ap-1 at http://approvals/ap-1',
      ]);
      expect(v.allow).toBe(approved);
      expect(v.reasons).toEqual(approved ? ['approved by bob'] : ['rejected by bob: no']);
      expect(t.publisher.calls.map((c) => c.mode)).toEqual(['batched', 'durable']);
    }
  });

  it('fails closed (255) when the audit log refuses', async () => {
    const t = setup(decision({ allow: true, reasons: ['ok'] }));
    t.publisher.refuse = Object.assign(new Error('kafka down'), { code: 'GH_ERR_PUBLISH_UNAVAILABLE' });
    const v = await t.decide({ type: 'exec', command: 'id', pty: false }, 1, t.hooks);
    expect(v).toMatchObject({ allow: false, exitStatus: EXIT_GATEWAY_ERROR });
    expect(v.reasons[0]).toMatch(/audit log unavailable/);
  });
});
