/** Identities, times and event builders shared by the approval fold's tests. */
import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  ApprovalDecidedSchema,
  ApprovalRequestedSchema,
  ApprovalReviewedSchema,
  EventSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/identity.js';
import { foldApproval } from './fold.js';
import { toProtoIdentity } from '../../shared/events/proto-identity.js';
import type { ApprovalRecord } from './types.js';

export const who = (sub: string, groups: string[] = [], agent = false): Identity => ({
  sub,
  email: `${sub}@example.test`,
  groups,
  agent,
  issuer: 'https://idp.test',
  client_id: 'c',
});

export const alice = who('alice', ['dev']);
export const bob = who('bob', ['dba']);
export const carol = who('carol', ['dba', 'oncall']);
export const dave = who('dave', ['dev']);
export const bot = who('bot', ['dba'], true);

export const T0 = 1_700_000_000_000_000n; // micros
export const SEC = 1_000_000n;

export function ev(body: Event['body'], at: bigint, identity: Identity = alice): Event {
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

export function requested(
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

export function reviewed(reviewer: Identity, verdict: string, at: bigint, reason = ''): Event {
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

export function decided(outcome: string, at: bigint, reviewer?: Identity): Event {
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
export function notice(
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
export function foldAll(events: Event[]): ApprovalRecord {
  let record: ApprovalRecord | undefined;
  for (const e of events) {
    const r = foldApproval(record, e);
    if (r.kind !== 'unrelated') record = r.record;
  }
  if (!record) throw new Error('no record');
  return record;
}

export const lastIgnored = (r: ApprovalRecord) => r.history.at(-1)?.ignored;
