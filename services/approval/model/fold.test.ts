import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  ApprovalDecidedSchema,
  ApprovalRequestedSchema,
  ApprovalReviewedSchema,
  EventSchema,
  RequestSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/identity.js';
import { dueDecision, draftDecision } from './decision.js';
import { foldApproval } from './fold.js';
import { checkReview } from './review-rules.js';
import { decidedEvent } from '../log/approval-events.js';
import { loadSigningKey, loadTrustedKeys, publicKeyText } from '../../shared/signing/signing-keys.js';
import { toProtoIdentity } from '../../shared/events/proto-identity.js';
import type { ApprovalRecord } from './types.js';
import { stateOf } from './types.js';

const who = (sub: string, groups: string[] = [], agent = false): Identity => ({
  sub,
  email: `${sub}@example.test`,
  groups,
  agent,
  issuer: 'https://idp.test',
  client_id: 'c',
});

const alice = who('alice', ['dev']);
const bob = who('bob', ['dba']);
const carol = who('carol', ['dba', 'oncall']);
const dave = who('dave', ['dev']);
const bot = who('bot', ['dba'], true);

const T0 = 1_700_000_000_000_000n; // micros
const SEC = 1_000_000n;

function ev(body: Event['body'], at: bigint, identity: Identity = alice): Event {
  return create(EventSchema, {
    eventId: randomUUID(),
    sessionId: 'approval:a1',
    seq: 1n,
    nodeId: 'n1',
    tsMicros: at,
    identity: toProtoIdentity(identity),
    protocol: 'postgres',
    body,
  });
}

function requested(
  opts: { needed?: number; ttl?: bigint; groups?: string[]; heldUntil?: bigint } = {},
): Event {
  return ev(
    {
      case: 'approvalRequested',
      value: create(ApprovalRequestedSchema, {
        approvalId: 'a1',
        requestText: 'DROP TABLE users',
        requestHash: 'f'.repeat(64),
        reasons: ['DDL requires approval by dba'],
        groups: opts.groups ?? ['dba'],
        approvalsNeeded: opts.needed ?? 1,
        expiresMicros: T0 + (opts.ttl ?? 60n) * SEC,
        ttlSeconds: Number(opts.ttl ?? 60n),
        reuseSeconds: 300,
        sessionId: 's1',
        nodeId: 'gw-1',
        requester: toProtoIdentity(alice),
        heldUntilMicros: opts.heldUntil ?? 0n,
      }),
    },
    T0,
  );
}

function reviewed(reviewer: Identity, verdict: string, at: bigint, reason = ''): Event {
  return ev(
    {
      case: 'approvalReviewed',
      value: create(ApprovalReviewedSchema, {
        approvalId: 'a1',
        verdict,
        reviewer: toProtoIdentity(reviewer),
        reason,
      }),
    },
    at,
  );
}

function decided(outcome: string, at: bigint, reviewer?: Identity): Event {
  return ev(
    {
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId: 'a1',
        outcome,
        ...(reviewer ? { reviewer: toProtoIdentity(reviewer) } : {}),
      }),
    },
    at,
  );
}

/** A gateway's unsigned notice about the request it held in session s1 on gw-1. */
function notice(
  outcome: 'abandoned' | 'waited' | 'holding',
  at: bigint,
  sessionId = 's1',
  until = 0n,
): Event {
  return ev(
    {
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId: 'a1',
        outcome,
        reason: 'the client went away',
        sessionId,
        nodeId: 'gw-1',
        expiresMicros: until,
      }),
    },
    at,
  );
}

/** Folds events in order; returns the final record and every history entry's `ignored`. */
function foldAll(events: Event[]): ApprovalRecord {
  let record: ApprovalRecord | undefined;
  for (const e of events) {
    const r = foldApproval(record, e);
    if (r.kind !== 'unrelated') record = r.record;
  }
  if (!record) throw new Error('no record');
  return record;
}

const lastIgnored = (r: ApprovalRecord) => r.history.at(-1)?.ignored;

describe('approval fold', () => {
  it('creates a pending approval from the request', () => {
    const r = foldAll([requested()]);
    expect(stateOf(r)).toBe('pending');
    expect(r.request.requester.sub).toBe('alice');
    expect(r.request.text).toBe('DROP TABLE users');
    expect(r.request.groups).toEqual(['dba']);
    expect(r.events).toBe(1);
  });

  it('settles on one valid approval and becomes approved with the first decided event', () => {
    let r = foldAll([requested(), reviewed(bob, 'approve', T0 + SEC)]);
    expect(r.settled?.outcome).toBe('approved');
    expect(stateOf(r)).toBe('pending');
    expect(dueDecision(r, T0 + 2n * SEC, 5n * SEC)).toBeUndefined(); // within the grace
    expect(dueDecision(r, T0 + 7n * SEC, 5n * SEC)?.outcome).toBe('approved');
    const draft = draftDecision(r, 'approved');
    expect(draft.approvers.map((a) => a.sub)).toEqual(['bob']);
    expect(draft.approverGroups).toEqual(['dba']);
    r = foldAll([requested(), reviewed(bob, 'approve', T0 + SEC), decided('approved', T0 + 2n * SEC, bob)]);
    expect(stateOf(r)).toBe('approved');
    expect(r.decision?.reviewer?.sub).toBe('bob');
  });

  it('lets the first decision in log order win and records later ones as ignored', () => {
    const r = foldAll([
      requested(),
      reviewed(bob, 'approve', T0 + SEC),
      decided('approved', T0 + 2n * SEC, bob),
      decided('expired', T0 + 3n * SEC),
      decided('rejected', T0 + 4n * SEC, carol),
    ]);
    expect(stateOf(r)).toBe('approved');
    const decisions = r.history.filter((h) => h.kind === 'decided');
    expect(decisions.map((h) => [h.outcome, h.ignored])).toEqual([
      ['approved', ''],
      ['expired', 'the request was already approved'],
      ['rejected', 'the request was already approved'],
    ]);
  });

  it('ignores reviews after the reviews settled the outcome (a concurrent reject loses to an earlier approve)', () => {
    const r = foldAll([
      requested(),
      reviewed(bob, 'approve', T0 + SEC),
      reviewed(carol, 'reject', T0 + SEC, 'no'),
    ]);
    expect(r.settled?.outcome).toBe('approved');
    expect(r.rejection).toBeUndefined();
    expect(lastIgnored(r)).toMatch(/already approved/);
  });

  it('needs N distinct approvers: the same reviewer twice counts once', () => {
    let r = foldAll([
      requested({ needed: 2 }),
      reviewed(bob, 'approve', T0 + SEC),
      reviewed(bob, 'approve', T0 + 2n * SEC),
    ]);
    expect(r.approvals).toHaveLength(1);
    expect(r.settled).toBeUndefined();
    expect(lastIgnored(r)).toMatch(/already approved this request; it needs 2 distinct approvers/);
    r = foldAll([
      requested({ needed: 2 }),
      reviewed(bob, 'approve', T0 + SEC),
      reviewed(bob, 'approve', T0 + 2n * SEC),
      reviewed(carol, 'approve', T0 + 3n * SEC),
    ]);
    expect(r.approvals.map((a) => a.reviewer.sub)).toEqual(['bob', 'carol']);
    expect(r.settled?.outcome).toBe('approved');
    expect(draftDecision(r, 'approved').approverGroups).toEqual(['dba']);
  });

  it('refuses self-approval even from a member of the approver groups', () => {
    const aliceDba = who('alice', ['dba']);
    const r = foldAll([requested(), reviewed(aliceDba, 'approve', T0 + SEC)]);
    expect(r.approvals).toHaveLength(0);
    expect(r.settled).toBeUndefined();
    expect(lastIgnored(r)).toMatch(/self-approval is not allowed/);
  });

  it('refuses reviewers outside the approver groups and AI agents', () => {
    let r = foldAll([requested(), reviewed(dave, 'approve', T0 + SEC)]);
    expect(lastIgnored(r)).toBe('only members of dba may review this request');
    r = foldAll([requested(), reviewed(bot, 'approve', T0 + SEC)]);
    expect(lastIgnored(r)).toBe('AI agents cannot review approvals');
    expect(r.approvals).toHaveLength(0);
  });

  it('requires a reason to reject, and a valid rejection settles the outcome', () => {
    let r = foldAll([requested(), reviewed(bob, 'reject', T0 + SEC, '   ')]);
    expect(lastIgnored(r)).toBe('a rejection requires a reason');
    expect(r.settled).toBeUndefined();
    r = foldAll([
      requested({ needed: 2 }),
      reviewed(carol, 'approve', T0 + SEC),
      reviewed(bob, 'reject', T0 + 2n * SEC, 'drops prod data'),
    ]);
    expect(r.settled?.outcome).toBe('rejected');
    expect(draftDecision(r, 'rejected')).toMatchObject({ outcome: 'rejected', reason: 'drops prod data' });
    expect(draftDecision(r, 'rejected').reviewer?.sub).toBe('bob');
  });

  it('expires: nothing counts at or after the expiry, and expiry is due when no one acted', () => {
    let r = foldAll([requested({ ttl: 10n }), notice('waited', T0 + 10n * SEC)]);
    expect(r.waited).toBe(true);
    expect(stateOf(r)).toBe('pending');
    expect(dueDecision(r, T0 + 9n * SEC, SEC)).toBeUndefined();
    expect(dueDecision(r, T0 + 10n * SEC, SEC)).toMatchObject({
      outcome: 'expired',
      reason: 'no decision within 10 s',
    });
    r = foldAll([requested({ ttl: 10n }), reviewed(bob, 'approve', T0 + 10n * SEC)]);
    expect(lastIgnored(r)).toBe('the approval request has expired');
    expect(r.approvals).toHaveLength(0);
    // an approval that settled before the expiry is still published as approved after it
    r = foldAll([requested({ ttl: 10n }), reviewed(bob, 'approve', T0 + 9n * SEC)]);
    expect(dueDecision(r, T0 + 20n * SEC, SEC)?.outcome).toBe('approved');
    r = foldAll([
      requested({ ttl: 10n }),
      decided('expired', T0 + 10n * SEC),
      reviewed(bob, 'approve', T0 + 11n * SEC),
    ]);
    expect(stateOf(r)).toBe('expired');
    expect(dueDecision(r, T0 + 20n * SEC, SEC)).toBeUndefined();
  });

  it('ends abandoned at expiry + grace when no gateway said it still waited (its node died)', () => {
    const r = foldAll([requested({ ttl: 10n })]);
    expect(dueDecision(r, T0 + 10n * SEC, SEC)).toBeUndefined(); // within the grace for the waited notice
    expect(dueDecision(r, T0 + 11n * SEC, SEC)).toMatchObject({
      outcome: 'abandoned',
      reason: expect.stringMatching(/gw-1 stopped/) as unknown,
    });
  });

  it('ends abandoned once the holding node stops renewing its hold lease; reviews after the lapse answer 409', () => {
    const held = (at: bigint) => notice('holding', at, 's1', at + 3n * SEC);
    let r = foldAll([requested({ ttl: 60n }), held(T0), held(T0 + 2n * SEC), held(T0 + SEC)]);
    expect(r.heldUntilMicros).toBe(T0 + 5n * SEC); // never shortened by an older renewal
    expect(r.history).toHaveLength(1); // renewals leave no history entry
    expect(dueDecision(r, T0 + 4n * SEC, SEC)).toBeUndefined();
    expect(dueDecision(r, T0 + 5n * SEC, SEC)).toMatchObject({
      outcome: 'abandoned',
      reason: expect.stringMatching(/gw-1 stopped renewing its hold/) as unknown,
    });
    expect(checkReview(r, bob, 'approve', '', T0 + 4n * SEC)).toBeUndefined();
    expect(checkReview(r, bob, 'approve', '', T0 + 5n * SEC)).toMatchObject({
      code: 'hold_lapsed',
      status: 409,
    });
    r = foldAll([requested({ ttl: 60n }), held(T0), reviewed(bob, 'approve', T0 + 6n * SEC)]);
    expect(r.approvals).toHaveLength(0);
    expect(lastIgnored(r)).toMatch(/no longer holds the request/);
    // a renewal naming another session changes nothing; one after the decision neither
    r = foldAll([requested({ ttl: 60n }), notice('holding', T0, 'x', T0 + 9n * SEC)]);
    expect(r.heldUntilMicros).toBeUndefined();
    // approved before the lapse: still published approved after it
    r = foldAll([requested({ ttl: 60n }), held(T0), reviewed(bob, 'approve', T0 + SEC)]);
    expect(dueDecision(r, T0 + 10n * SEC, SEC)?.outcome).toBe('approved');
  });

  it('takes the first hold lease from the request itself: a node that dies before any renewal is noticed', () => {
    let r = foldAll([requested({ ttl: 900n, heldUntil: T0 + 2n * SEC })]);
    expect(r.heldUntilMicros).toBe(T0 + 2n * SEC);
    expect(dueDecision(r, T0 + SEC, SEC)).toBeUndefined();
    expect(dueDecision(r, T0 + 2n * SEC, SEC)).toMatchObject({
      outcome: 'abandoned',
      reason: expect.stringMatching(/gw-1 stopped renewing its hold/) as unknown,
    });
    // renewals extend it as before; a request without one (older node) waits for its first renewal
    r = foldAll([
      requested({ ttl: 900n, heldUntil: T0 + 2n * SEC }),
      notice('holding', T0, 's1', T0 + 7n * SEC),
    ]);
    expect(r.heldUntilMicros).toBe(T0 + 7n * SEC);
    expect(foldAll([requested({ ttl: 900n })]).heldUntilMicros).toBeUndefined();
  });

  it("a gateway's abandoned notice ends the approval; late reviews answer 409", () => {
    let r = foldAll([requested(), notice('abandoned', T0 + SEC)]);
    expect(stateOf(r)).toBe('abandoned');
    expect(r.decision?.reason).toBe('the client went away');
    expect(checkReview(r, bob, 'approve', '', T0 + 2n * SEC)).toMatchObject({
      status: 409,
      message: 'the request was already abandoned',
    });
    r = foldAll([
      requested(),
      notice('abandoned', T0 + SEC, 'other-session'),
      notice('waited', T0 + SEC, 'x'),
    ]);
    expect(stateOf(r)).toBe('pending');
    expect(r.waited).toBe(false);
    expect(lastIgnored(r)).toMatch(/does not name the request's session/);
  });

  it('with trusted keys, only decisions signed by one of them count', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = loadSigningKey('k1', privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const rogue = loadSigningKey(
      'k1',
      generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    );
    const limits = { maxHistory: 100, trustedKeys: loadTrustedKeys({ k1: publicKeyText(key) }) };
    const first = foldApproval(undefined, requested(), limits);
    if (first.kind !== 'requested') throw new Error('not folded');
    const start = foldApproval(first.record, reviewed(bob, 'approve', T0 + SEC), limits);
    if (start.kind !== 'reviewed') throw new Error('not folded');
    const draft = {
      outcome: 'approved' as const,
      reviewer: bob,
      reason: '',
      approvers: [bob],
      approverGroups: ['dba'],
    };
    for (const forged of [
      decided('approved', T0 + SEC, bob),
      decidedEvent(start.record, 'x', draft, rogue),
    ]) {
      const res = foldApproval(start.record, forged, limits);
      if (res.kind !== 'decided') throw new Error('not folded');
      expect(stateOf(res.record)).toBe('pending');
      expect(res.entry.ignored).toMatch(/not a valid signed decision/);
    }
    const res = foldApproval(start.record, decidedEvent(start.record, 'x', draft, key), limits);
    if (res.kind !== 'decided') throw new Error('not folded');
    expect(res.entry.ignored).toBe('');
    expect(stateOf(res.record)).toBe('approved');
  });

  it('skips redelivered events and ignores events of unknown approvals', () => {
    const req = requested();
    const review = reviewed(bob, 'approve', T0 + SEC);
    const r = foldAll([req, review, review, req]);
    expect(r.history).toHaveLength(2);
    expect(r.events).toBe(2);
    expect(foldApproval(undefined, review).kind).toBe('unrelated');
    expect(foldApproval(undefined, ev({ case: 'request', value: create(RequestSchema, {}) }, T0)).kind).toBe(
      'unrelated',
    );
  });

  it('ignores unknown verdicts and outcomes', () => {
    let r = foldAll([requested(), reviewed(bob, 'maybe', T0 + SEC)]);
    expect(lastIgnored(r)).toMatch(/unknown verdict/);
    r = foldAll([requested(), decided('ignored', T0 + SEC)]);
    expect(stateOf(r)).toBe('pending');
    expect(lastIgnored(r)).toMatch(/unknown outcome/);
  });

  it('bounds the history but keeps the request entry', () => {
    let record: ApprovalRecord | undefined;
    const events = [
      requested({ needed: 5 }),
      ...Array.from({ length: 10 }, (_, i) => reviewed(dave, 'approve', T0 + BigInt(i + 1) * SEC)),
    ];
    for (const e of events) {
      const res = foldApproval(record, e, { maxHistory: 4 });
      if (res.kind !== 'unrelated') record = res.record;
    }
    expect(record?.history).toHaveLength(4);
    expect(record?.history[0]?.kind).toBe('requested');
    expect(record?.historyDropped).toBe(7);
  });
});
