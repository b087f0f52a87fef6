import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../../shared/events/codec.js';
import { buildApprovalRequest } from './requested-event.js';
import type { ApprovalRequestOptions } from './requested-event.js';

const opts: ApprovalRequestOptions = {
  sessionId: 'sess-1',
  requester: {
    sub: 'alice',
    email: 'a@x',
    groups: ['dev'],
    agent: true,
    issuer: 'https://idp',
    client_id: 'c',
  },
  connection: { name: 'demo-pg', tags: { env: 'prod' } },
  protocol: 'postgres',
  requestText: 'DROP TABLE t',
  fingerprint: 'f'.repeat(64),
  reasons: ['DDL needs dba'],
  groups: ['dba'],
  approvalsNeeded: 0,
  ttlSeconds: 30,
  reuseSeconds: 60,
  requestId: 7,
  policyRevision: 'rev-1',
};
const at = {
  approvalId: 'a1',
  approveUrl: 'https://ap/approvals/a1',
  nodeId: 'gw-1',
  nowMicros: 1_000_000n,
  ttlMs: 30_000,
  holdLeaseMs: 20_000,
  maxTextLength: 100,
};

describe('approval.requested event', () => {
  it('carries the request, the requester and the approval stream envelope', () => {
    const { requested, event } = buildApprovalRequest(opts, at);
    const back = decodeEvent(encodeEvent(event));
    expect(back).toMatchObject({
      sessionId: 'approval:a1',
      seq: 1n,
      nodeId: 'gw-1',
      tsMicros: 1_000_000n,
      protocol: 'postgres',
      policyRevision: 'rev-1',
    });
    expect(back.identity?.sub).toBe('alice');
    expect(back.connection).toMatchObject({ name: 'demo-pg', protocol: 'postgres', tags: { env: 'prod' } });
    expect(requested).toMatchObject({
      approvalId: 'a1',
      requestId: 7,
      requestText: 'DROP TABLE t',
      requestHash: 'f'.repeat(64),
      groups: ['dba'],
      approvalsNeeded: 1, // at least one
      expiresMicros: 31_000_000n,
      ttlSeconds: 30,
      reuseSeconds: 60,
      sessionId: 'sess-1',
      nodeId: 'gw-1',
      approveUrl: 'https://ap/approvals/a1',
      heldUntilMicros: 21_000_000n, // the first hold lease travels with the request
    });
    expect(requested.requester?.agent).toBe(true);
  });

  it('cuts overlong request text and says so', () => {
    const { requested } = buildApprovalRequest({ ...opts, requestText: 'x'.repeat(150) }, at);
    expect(requested.requestText.startsWith('x'.repeat(100) + '\n… [50 more characters not shown')).toBe(
      true,
    );
    expect(requested.requestHash).toBe('f'.repeat(64));
  });
});
