import { generateKeyPairSync } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { RequestSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { dueDecision, draftDecision } from './decision.js';
import { foldApproval } from './fold.js';
import { decidedEvent } from '../log/approval-events.js';
import { loadSigningKey, loadTrustedKeys, publicKeyText } from '../../shared/signing/signing-keys.js';
import type { ApprovalRecord } from './types.js';
import { stateOf } from './types.js';
import {
  bob,
  carol,
  dave,
  bot,
  T0,
  SEC,
  ev,
  requested,
  reviewed,
  decided,
  foldAll,
  lastIgnored,
  who,
} from './fold-fixtures.js';

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
