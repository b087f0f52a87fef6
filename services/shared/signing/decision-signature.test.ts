import { generateKeyPairSync } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  ApprovalDecidedSchema,
  ConnectionSchema,
  EventSchema,
  IdentitySchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { canonicalDecision, claimsFromEvent, requestDigest } from './decision-claims.js';
import { checkDecisionFor, signDecision, verifyDecisionSignature } from './decision-signature.js';
import type { HeldRequest } from './decision-signature.js';
import { loadSigningKey, loadTrustedKeys, publicKeyText } from './signing-keys.js';
import type { SigningKey } from './signing-keys.js';

function newKey(kid: string): { key: SigningKey; pem: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { key: loadSigningKey(kid, pem), pem };
}

const k1 = newKey('k1');
const k2 = newKey('k2');
const trusted = loadTrustedKeys({ k1: publicKeyText(k1.key), k2: publicKeyText(k2.key) });

const person = (sub: string, groups: string[], agent = false) =>
  create(IdentitySchema, {
    sub,
    email: `${sub}@example.test`,
    groups,
    agent,
    issuer: 'http://idp',
    clientId: 'c',
  });

const digest = requestDigest('DROP TABLE audit_log');
const held: HeldRequest = {
  approvalId: 'a-1',
  sessionId: 's-1',
  requestId: 3,
  requestDigest: digest,
  expiresMicros: 2_000_000n,
  requesterSub: 'alice',
  groups: ['dba'],
  approvalsNeeded: 1,
};

/** A decision event as the approval service publishes it, signed with `key` (or unsigned). */
function decided(
  over: Partial<{ outcome: string; approvers: string[][]; reviewer: string[]; decidedMicros: bigint }> = {},
  key: SigningKey | null = k1.key,
  approvalId = 'a-1',
): Event {
  const approvers = (over.approvers ?? [['bob', 'dba']]).map(([sub, ...groups]) => person(sub!, groups));
  const [rsub, ...rgroups] = over.reviewer ?? ['bob', 'dba'];
  const event = create(EventSchema, {
    eventId: 'e-1',
    sessionId: `approval:${approvalId}`,
    seq: 3n,
    nodeId: 'approval-1',
    tsMicros: 1_000_000n,
    identity: person('alice', ['dev'], true),
    connection: create(ConnectionSchema, { name: 'demo-pg', protocol: 'postgres' }),
    body: {
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId,
        outcome: over.outcome ?? 'approved',
        reviewer: person(rsub!, rgroups),
        reason: 'looks fine',
        requestId: 3,
        approvers,
        approverGroups: ['dba'],
        requestHash: 'f'.repeat(64),
        reuseSeconds: 300,
        sessionId: 's-1',
        nodeId: 'gw-1',
        decidedMicros: over.decidedMicros ?? 1_500_000n,
        expiresMicros: 2_000_000n,
        requestDigest: digest,
      }),
    },
  });
  if (key && event.body.case === 'approvalDecided') {
    const s = signDecision(claimsFromEvent(event)!, key);
    event.body.value.keyId = s.keyId;
    event.body.value.signature = s.signature;
  }
  return event;
}

function body(e: Event) {
  if (e.body.case !== 'approvalDecided') throw new Error('not a decision');
  return e.body.value;
}

describe('decision signatures', () => {
  it('a decision signed by a pinned key verifies and decides the held request', () => {
    const v = verifyDecisionSignature(decided(), trusted);
    expect(v).toMatchObject({ ok: true, claims: { approvalId: 'a-1', outcome: 'approved', keyId: 'k1' } });
    if (!v.ok) throw new Error('not ok');
    expect(checkDecisionFor(v.claims, held)).toBeUndefined();
    expect(verifyDecisionSignature(decided({}, k2.key), trusted).ok).toBe(true);
  });

  it('the canonical encoding is stable and covers every claim', () => {
    const c = claimsFromEvent(decided())!;
    expect(Buffer.from(canonicalDecision(c)).toString()).toBe(
      Buffer.from(canonicalDecision({ ...c })).toString(),
    );
    const variants = [
      { ...c, approvalId: 'a-2' },
      { ...c, requesterSub: 'mallory' },
      { ...c, connection: 'other' },
      { ...c, approvers: [...c.approvers, { ...c.approvers[0]!, sub: 'x' }] },
      { ...c, reviewer: { ...c.reviewer!, groups: ['dba', 'x'] } },
      { ...c, reviewer: undefined },
      { ...c, expiresMicros: c.expiresMicros + 1n },
      { ...c, reuseSeconds: 301 },
    ];
    const base = Buffer.from(canonicalDecision(c)).toString();
    for (const v of variants) expect(Buffer.from(canonicalDecision(v)).toString()).not.toBe(base);
  });

  it('refuses an unsigned decision, and one without a key id', () => {
    expect(verifyDecisionSignature(decided({}, null), trusted)).toMatchObject({
      ok: false,
      code: 'unsigned',
    });
    const e = decided();
    body(e).keyId = '';
    expect(verifyDecisionSignature(e, trusted)).toMatchObject({ ok: false, code: 'unsigned' });
  });

  it('refuses a key id that is not pinned, and a signature by another key under a pinned id', () => {
    const rogue = newKey('rogue');
    expect(verifyDecisionSignature(decided({}, rogue.key), trusted)).toMatchObject({
      ok: false,
      code: 'unknown_key',
    });
    const impostor = loadSigningKey('k1', newKey('x').pem); // claims kid k1, signs with another key
    expect(verifyDecisionSignature(decided({}, impostor), trusted)).toMatchObject({
      ok: false,
      code: 'bad_signature',
    });
    const e = decided();
    body(e).keyId = 'k2'; // the right signature, relabelled
    expect(verifyDecisionSignature(e, trusted)).toMatchObject({ ok: false, code: 'bad_signature' });
  });

  it('refuses any tampered field, in the body or the envelope', () => {
    const tampers: ((e: Event) => void)[] = [
      (e) => (body(e).outcome = 'rejected'),
      (e) => (body(e).approvers[0]!.groups = ['dba', 'admin']),
      (e) => (body(e).reviewer!.sub = 'mallory'),
      (e) => (body(e).sessionId = 's-2'),
      (e) => (body(e).requestId = 4),
      (e) => (body(e).requestDigest = requestDigest('SELECT 1')),
      (e) => (body(e).requestHash = '0'.repeat(64)),
      (e) => (body(e).reuseSeconds = 86_400),
      (e) => (body(e).expiresMicros = 9_000_000n),
      (e) => (body(e).decidedMicros = 1n),
      (e) => (body(e).reason = 'x'),
      (e) => (e.identity!.sub = 'mallory'),
      (e) => (e.connection!.name = 'prod-pg'),
      (e) => (body(e).signature = body(e).signature.slice(0, 10)),
      (e) => {
        const s = Uint8Array.from(body(e).signature);
        s[0] = s[0]! ^ 1;
        body(e).signature = s;
      },
    ];
    for (const tamper of tampers) {
      const e = decided();
      tamper(e);
      expect(verifyDecisionSignature(e, trusted)).toMatchObject({ ok: false, code: 'bad_signature' });
    }
  });

  it('a valid decision for another request does not decide the held one (replay)', () => {
    const other = verifyDecisionSignature(decided({}, k1.key, 'a-2'), trusted);
    if (!other.ok) throw new Error('not ok');
    expect(checkDecisionFor(other.claims, held)).toMatchObject({ code: 'wrong_request' });
    const mine = verifyDecisionSignature(decided(), trusted);
    if (!mine.ok) throw new Error('not ok');
    for (const h of [
      { ...held, sessionId: 's-9' },
      { ...held, requestId: 9 },
      { ...held, requestDigest: requestDigest('DROP TABLE users') },
      { ...held, expiresMicros: 3_000_000n },
    ]) {
      expect(checkDecisionFor(mine.claims, h)).toMatchObject({ code: 'wrong_request' });
    }
  });

  it('checks the reviewers against the rule at the gateway, from the signed identities', () => {
    const check = (over: Parameters<typeof decided>[0], h: HeldRequest = held) => {
      const v = verifyDecisionSignature(decided(over), trusted);
      if (!v.ok) throw new Error('not ok');
      return checkDecisionFor(v.claims, h)?.code;
    };
    expect(check({ approvers: [['eve', 'dev']], reviewer: ['eve', 'dev'] })).toBe('reviewer_not_allowed');
    expect(check({ approvers: [['alice', 'dba']], reviewer: ['alice', 'dba'] })).toBe('reviewer_not_allowed');
    expect(check({}, { ...held, approvalsNeeded: 2 })).toBe('reviewer_not_allowed');
    expect(
      check(
        {
          approvers: [
            ['bob', 'dba'],
            ['carol', 'dba'],
          ],
          reviewer: ['carol', 'dba'],
        },
        { ...held, approvalsNeeded: 2 },
      ),
    ).toBeUndefined();
    expect(
      check(
        {
          approvers: [
            ['bob', 'dba'],
            ['bob', 'dba'],
          ],
        },
        { ...held, approvalsNeeded: 2 },
      ),
    ).toBe('reviewer_not_allowed');
    expect(check({}, { ...held, groups: ['security'] })).toBe('reviewer_not_allowed');
    expect(check({ outcome: 'rejected', approvers: [], reviewer: ['eve', 'dev'] })).toBe(
      'reviewer_not_allowed',
    );
    expect(check({ outcome: 'rejected', approvers: [] })).toBeUndefined();
    expect(check({ outcome: 'expired', approvers: [], reviewer: [''] })).toBeUndefined();
  });

  it('refuses an approval decided after the expiry, and unknown outcomes', () => {
    const late = verifyDecisionSignature(decided({ decidedMicros: 2_000_001n }), trusted);
    if (!late.ok) throw new Error('not ok');
    expect(checkDecisionFor(late.claims, held)).toMatchObject({ code: 'outside_time' });
    expect(verifyDecisionSignature(decided({ outcome: 'waited' }), trusted)).toMatchObject({
      ok: false,
      code: 'bad_outcome',
    });
  });

  it('loads keys in PEM and raw form and rejects other key types', () => {
    const spki = k1.key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => loadTrustedKeys({ 'bad kid!': publicKeyText(k1.key) })).toThrow(/key id/);
    expect(() => loadTrustedKeys({ k: 'not a key' })).toThrow(/trusted key k/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() =>
      loadSigningKey('r', rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
    ).toThrow(/not Ed25519/);
    expect(() => loadSigningKey('k', 'garbage')).toThrow(/not a PEM private key/);
    const pemPublic = trusted.get('k1')!.export({ format: 'pem', type: 'spki' }).toString();
    expect(loadTrustedKeys({ k1: pemPublic }).get('k1')!.equals(trusted.get('k1')!)).toBe(true);
    expect(spki).toContain('PRIVATE KEY');
  });
});
