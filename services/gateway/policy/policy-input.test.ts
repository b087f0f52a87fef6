import { describe, expect, it } from 'vitest';
import type { SessionAudit } from '../session-audit.js';
import { deepFreeze, frozenJson } from '../pipeline/frozen-json.js';
import { policyInput } from './policy-input.js';
import type { PolicySessionContext } from './policy-input.js';
import type { PolicyRequest } from './types.js';

const request: PolicyRequest = {
  kind: 'ssh',
  fingerprint: '0'.repeat(64),
  ssh: { type: 'exec', command: 'uptime', pty: false },
};

function context(audit: SessionAudit, over: Partial<PolicySessionContext> = {}): PolicySessionContext {
  const identity = Object.freeze({
    sub: 'agent-7',
    email: '',
    groups: Object.freeze(['ops']),
    agent: true,
    issuer: 'https://idp.example',
    client_id: 'cli',
  });
  return {
    identity,
    connection: { name: 'demo-ssh', tags: { env: 'demo' } },
    protocol: 'ssh',
    audit,
    clientAddr: '10.0.0.7',
    startedAt: 1767225600,
    ...over,
  };
}

function audit(sessionId: string): SessionAudit {
  return { sessionId, events: { nodeId: 'node-a' } } as unknown as SessionAudit;
}

describe('policyInput', () => {
  it('gives a session’s requests the same frozen connection and session parts, serialised once', () => {
    const a = audit('s-1');
    const base = context(a);
    const first = policyInput(base, request, []);
    const second = policyInput({ ...base }, request, []);
    expect(second.connection).toBe(first.connection);
    expect(second.session).toBe(first.session);
    expect(Object.isFrozen(first.connection.tags)).toBe(true);
    expect(frozenJson(first.session)).toBe(frozenJson(second.session));
    expect(first).toMatchObject({
      identity: base.identity,
      connection: { name: 'demo-ssh', protocol: 'ssh', tags: { env: 'demo' } },
      session: { id: 's-1', node: 'node-a', client_addr: '10.0.0.7', started_at: 1767225600 },
      grants: [],
    });
  });

  it('makes new parts when what they are made of changes, and never freezes the caller’s objects', () => {
    const a = audit('s-2');
    const tags = { env: 'demo' };
    const base = context(a, { connection: { name: 'demo-ssh', tags } });
    const first = policyInput(base, request, []);
    expect(Object.isFrozen(tags)).toBe(false);
    const moved = policyInput({ ...base, clientAddr: '10.0.0.8' }, request, []);
    expect(moved.session).not.toBe(first.session);
    expect(moved.session.client_addr).toBe('10.0.0.8');
    const retagged = policyInput(
      { ...base, connection: { name: 'demo-ssh', tags: { env: 'prod' } } },
      request,
      [],
    );
    expect(retagged.connection.tags).toEqual({ env: 'prod' });
    const other = policyInput(context(audit('s-3')), request, []);
    expect(other.session.id).toBe('s-3');
    const open = { ...base.identity, groups: ['ops'] };
    expect(policyInput({ ...base, identity: open }, request, []).identity).toBe(open);
    expect(Object.isFrozen(open)).toBe(false);
  });

  it('shares deeply frozen connection tags across sessions (the decision memo keys by them), copies any others', () => {
    const frozen = deepFreeze({ env: 'demo' });
    const connection = { name: 'demo-ssh', tags: frozen };
    const one = policyInput(context(audit('s-4'), { connection }), request, []);
    const two = policyInput(context(audit('s-5'), { connection }), request, []);
    expect(one.connection).not.toBe(two.connection);
    expect(one.connection.tags).toBe(frozen);
    expect(two.connection.tags).toBe(frozen);
    const plain = { env: 'demo' };
    const copied = policyInput(
      context(audit('s-6'), { connection: { name: 'demo-ssh', tags: plain } }),
      request,
      [],
    );
    expect(copied.connection.tags).not.toBe(plain);
    expect(copied.connection.tags).toEqual(plain);
    expect(Object.isFrozen(plain)).toBe(false);
  });
});
