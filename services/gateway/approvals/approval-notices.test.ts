import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ApprovalDecidedSchema, EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { noticeEvent, refusedDecisionEvent, sessionDecidedBody } from './approval-notices.js';
import { requestDigest } from '../../shared/signing/decision-claims.js';
import { buildApprovalRequest } from './requested-event.js';

const { requested } = buildApprovalRequest(
  {
    sessionId: 's1',
    requester: { sub: 'alice', email: '', groups: ['dev'], agent: true, issuer: 'i', client_id: 'c' },
    connection: { name: 'demo-pg' },
    protocol: 'postgres',
    requestText: 'DROP TABLE t',
    fingerprint: 'f',
    reasons: ['ddl'],
    groups: ['dba'],
    approvalsNeeded: 1,
    ttlSeconds: 60,
    reuseSeconds: 0,
    requestId: 4,
  },
  {
    approvalId: 'a1',
    approveUrl: 'u',
    nodeId: 'gw-1',
    nowMicros: 10n,
    ttlMs: 60_000,
    holdLeaseMs: 20_000,
    maxTextLength: 5,
  },
);

describe('gateway approval notices', () => {
  it('the request carries the digest of the full text, even when the shown text is cut', () => {
    expect(requested.requestText.startsWith('DROP ')).toBe(true);
    expect(requested.requestDigest).toBe(requestDigest('DROP TABLE t'));
  });

  it('an abandoned notice names the request, its session and node, unsigned', () => {
    const e = noticeEvent(requested, 'abandoned', 'the client went away', {
      seq: 2n,
      nowMicros: 20n,
      policyRevision: 'r',
    });
    expect(e).toMatchObject({
      sessionId: 'approval:a1',
      seq: 2n,
      nodeId: 'gw-1',
      identity: { sub: 'alice' },
    });
    expect(e.body.case).toBe('approvalDecided');
    expect(e.body.value).toMatchObject({
      approvalId: 'a1',
      outcome: 'abandoned',
      sessionId: 's1',
      nodeId: 'gw-1',
      requestId: 4,
      keyId: '',
      requestDigest: requested.requestDigest,
    });
  });

  it('the session stream keeps a verified decision exactly as signed; local outcomes are unsigned', () => {
    const decided = create(ApprovalDecidedSchema, {
      approvalId: 'a1',
      outcome: 'approved',
      keyId: 'k',
      signature: new Uint8Array([1]),
    });
    expect(sessionDecidedBody('a1', 4, { outcome: 'approved', reason: '', decided })).toMatchObject({
      keyId: 'k',
      signature: new Uint8Array([1]),
      requestId: 4,
    });
    expect(sessionDecidedBody('a1', 4, { outcome: 'expired', reason: 'no decision' })).toMatchObject({
      outcome: 'expired',
      keyId: '',
    });
  });

  it('a security event bounds what the refused record claimed', () => {
    const forged = create(EventSchema, {
      eventId: 'x'.repeat(10_000),
      nodeId: 'n'.repeat(10_000),
      body: {
        case: 'approvalDecided',
        value: create(ApprovalDecidedSchema, {
          approvalId: 'a'.repeat(10_000),
          keyId: 'k'.repeat(10_000),
          outcome: 'o'.repeat(10_000),
        }),
      },
    });
    const s = refusedDecisionEvent(
      forged,
      { code: 'unsigned', reason: 'the decision is not signed' },
      { topic: 't', partition: 1, offset: '9', requestId: 4 },
    );
    expect(s).toMatchObject({
      kind: 'approval_decision_refused',
      code: 'unsigned',
      source: 't/1@9',
      requestId: 4,
    });
    expect(
      s.approvalId.length +
        s.keyId.length +
        s.eventId.length +
        s.claimedNodeId.length +
        s.claimedOutcome.length,
    ).toBeLessThanOrEqual(704);
  });
});
