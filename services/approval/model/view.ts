import type { Identity } from '../../shared/identity/identity.js';
import type { ApprovalRecord, ApprovalState } from './types.js';
import { stateOf } from './types.js';

export type PersonView = { sub: string; email: string; groups: string[]; agent: boolean };

/** The JSON shape of an approval in the HTTP API and the web page (documented in services/approval/README.md). */
export type ApprovalView = {
  id: string;
  state: ApprovalState;
  requester: PersonView;
  connection: { name: string; protocol: string; tags: Record<string, string> };
  protocol: string;
  sessionId: string;
  nodeId: string;
  requestId: number;
  request: { text: string; fingerprint: string };
  reasons: string[];
  groups: string[];
  approvalsNeeded: number;
  ttlSeconds: number;
  reuseSeconds: number;
  requestedAt: string;
  expiresAt: string;
  approveUrl: string;
  approvals: { reviewer: PersonView; at: string; reason: string }[];
  decision: {
    outcome: Exclude<ApprovalState, 'pending'>;
    at: string;
    reviewer: PersonView | null;
    reason: string;
    approvers: PersonView[];
    approverGroups: string[];
  } | null;
  history: {
    at: string;
    kind: string;
    actor: PersonView | null;
    verdict: string;
    outcome: string;
    reason: string;
    ignored: string;
  }[];
  historyDropped: number;
};

export function person(i: Identity): PersonView {
  return { sub: i.sub, email: i.email, groups: [...i.groups], agent: i.agent };
}

export function isoFromMicros(micros: bigint): string {
  const ms = Number(micros / 1000n);
  const d = new Date(Number.isFinite(ms) ? ms : 0);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/** The link reviewers open for one approval: the gateway's, else `<publicUrl>/approvals/<id>`. */
export function approveUrlOf(record: ApprovalRecord, publicUrl: string): string {
  return (
    record.request.approveUrl ||
    `${publicUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(record.request.id)}`
  );
}

export function toView(record: ApprovalRecord, publicUrl: string): ApprovalView {
  const r = record.request;
  const d = record.decision;
  return {
    id: r.id,
    state: stateOf(record),
    requester: person(r.requester),
    connection: { name: r.connection.name, protocol: r.connection.protocol, tags: { ...r.connection.tags } },
    protocol: r.protocol,
    sessionId: r.sessionId,
    nodeId: r.nodeId,
    requestId: r.requestId,
    request: { text: r.text, fingerprint: r.fingerprint },
    reasons: [...r.reasons],
    groups: [...r.groups],
    approvalsNeeded: r.approvalsNeeded,
    ttlSeconds: r.ttlSeconds,
    reuseSeconds: r.reuseSeconds,
    requestedAt: isoFromMicros(r.requestedMicros),
    expiresAt: isoFromMicros(r.expiresMicros),
    approveUrl: approveUrlOf(record, publicUrl),
    approvals: record.approvals.map((a) => ({
      reviewer: person(a.reviewer),
      at: isoFromMicros(a.atMicros),
      reason: a.reason,
    })),
    decision: d
      ? {
          outcome: d.outcome,
          at: isoFromMicros(d.atMicros),
          reviewer: d.reviewer ? person(d.reviewer) : null,
          reason: d.reason,
          approvers: d.approvers.map(person),
          approverGroups: [...d.approverGroups],
        }
      : null,
    history: record.history.map((h) => ({
      at: isoFromMicros(h.atMicros),
      kind: h.kind,
      actor: h.actor ? person(h.actor) : null,
      verdict: h.verdict,
      outcome: h.outcome,
      reason: h.reason,
      ignored: h.ignored,
    })),
    historyDropped: record.historyDropped,
  };
}

/** Who may see an approval: the requester, and members of its approver groups. */
export function canSee(record: ApprovalRecord, caller: Identity): boolean {
  if (caller.sub === record.request.requester.sub) return true;
  return caller.groups.some((g) => record.request.groups.includes(g));
}
