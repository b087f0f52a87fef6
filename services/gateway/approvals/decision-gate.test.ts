import { generateKeyPairSync } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ApprovalDecidedSchema, EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { claimsFromEvent } from '../../shared/signing/decision-claims.js';
import { signDecision } from '../../shared/signing/decision-signature.js';
import type { HeldRequest } from '../../shared/signing/decision-signature.js';
import { loadSigningKey, loadTrustedKeys, publicKeyText } from '../../shared/signing/signing-keys.js';
import { judgeDecision } from './decision-gate.js';

const key = loadSigningKey(
  'k1',
  generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
);
const keys = loadTrustedKeys({ k1: publicKeyText(key) });
const held: HeldRequest = {
  approvalId: 'a1',
  sessionId: 's1',
  requestId: 1,
  requestDigest: 'd',
  expiresMicros: 10n,
  requesterSub: 'alice',
  groups: ['dba'],
  approvalsNeeded: 1,
};

function decided(outcome: string, sign: boolean): Event {
  const e = create(EventSchema, {
    eventId: 'e',
    sessionId: 'approval:a1',
    seq: 2n,
    body: {
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId: 'a1',
        outcome,
        sessionId: 's1',
        requestId: 1,
        requestDigest: 'd',
        expiresMicros: 10n,
      }),
    },
  });
  if (sign && e.body.case === 'approvalDecided') {
    const s = signDecision(claimsFromEvent(e)!, key);
    e.body.value.keyId = s.keyId;
    e.body.value.signature = s.signature;
  }
  return e;
}

describe('the gateway decision gate', () => {
  it("skips gateway notices, but refuses one about a request it still holds (it cannot be this node's)", () => {
    expect(judgeDecision(decided('abandoned', false), undefined, keys, true)).toEqual({ kind: 'skip' });
    expect(judgeDecision(decided('waited', false), held, keys, true)).toMatchObject({
      kind: 'refuse',
      refusal: { code: 'unexpected_notice' },
    });
    // a hold-lease renewal (this node's own while it holds the request) never decides and is never refused
    expect(judgeDecision(decided('holding', false), held, keys, true)).toEqual({ kind: 'skip' });
  });

  it('refuses unverifiable decisions about its own requests, and ignores those about other nodes', () => {
    expect(judgeDecision(decided('approved', false), held, keys, false)).toMatchObject({
      kind: 'refuse',
      refusal: { code: 'unsigned' },
    });
    expect(judgeDecision(decided('approved', false), undefined, keys, true)).toMatchObject({
      kind: 'refuse',
    });
    expect(judgeDecision(decided('approved', false), undefined, keys, false)).toEqual({ kind: 'skip' });
  });

  it('accepts a signed expiry of the held request, and a signed approval without reviewers only when not held', () => {
    expect(judgeDecision(decided('expired', true), held, keys, true)).toMatchObject({ kind: 'accept' });
    expect(judgeDecision(decided('approved', true), held, keys, true)).toMatchObject({
      kind: 'refuse',
      refusal: { code: 'reviewer_not_allowed' },
    });
    expect(judgeDecision(decided('approved', true), undefined, keys, false)).toMatchObject({
      kind: 'accept',
    });
  });
});
