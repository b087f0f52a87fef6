import { deepFreeze, isDeeplyFrozen } from '../pipeline/frozen-json.js';
import type { SessionAudit } from '../session-audit.js';
import { policyTime } from './policy-time.js';
import type {
  ConnectionProtocol,
  PolicyConnection,
  PolicyGrant,
  PolicyIdentity,
  PolicyInput,
  PolicyRequest,
  PolicySession,
} from './types.js';

/** What a session knows of itself for `input.identity`, `input.connection` and `input.session`. */
export type PolicySessionContext = {
  identity: PolicyIdentity;
  connection: { name: string; tags: Readonly<Record<string, string>> };
  protocol: ConnectionProtocol;
  audit: SessionAudit;
  clientAddr: string;
  startedAt: number;
};

/** The one `input` document for a request, the same shape for every protocol. */
export function policyInput(
  s: PolicySessionContext,
  request: PolicyRequest,
  grants: readonly PolicyGrant[],
  now = new Date(),
): PolicyInput {
  const parts = sessionParts(s);
  return {
    identity: parts.identity,
    connection: parts.connection,
    session: parts.session,
    request,
    time: policyTime(now),
    grants,
  };
}

/** A session's `input.identity`, `input.connection` and `input.session`, and what they were made from. */
type SessionParts = {
  readonly identity: PolicyIdentity;
  readonly connection: PolicyConnection;
  readonly session: PolicySession;
  readonly tags: Readonly<Record<string, string>>;
};

/** Per session (its audit object), the parts its requests share. */
const parts = new WeakMap<SessionAudit, SessionParts>();

/**
 * The same frozen `input.connection` and `input.session` objects for every request of a session (while what they are
 * made of is unchanged), and its identity frozen whole when it is already frozen (as the token verifier makes it):
 * the policy engine then writes and parses them once per session, not once per request (engine.ts, splitInput).
 */
function sessionParts(s: PolicySessionContext): SessionParts {
  const known = parts.get(s.audit);
  if (
    known !== undefined &&
    known.identity === s.identity &&
    known.tags === s.connection.tags &&
    known.connection.name === s.connection.name &&
    known.connection.protocol === s.protocol &&
    known.session.id === s.audit.sessionId &&
    known.session.node === s.audit.events.nodeId &&
    known.session.client_addr === s.clientAddr &&
    known.session.started_at === s.startedAt
  ) {
    return known;
  }
  const { identity } = s;
  if (Object.isFrozen(identity) && Object.isFrozen(identity.groups)) deepFreeze(identity);
  const made: SessionParts = {
    identity,
    connection: deepFreeze({
      name: s.connection.name,
      protocol: s.protocol,
      tags: sharedTags(s.connection.tags),
    }),
    session: deepFreeze({
      id: s.audit.sessionId,
      node: s.audit.events.nodeId,
      client_addr: s.clientAddr,
      started_at: s.startedAt,
    }),
    tags: s.connection.tags,
  };
  parts.set(s.audit, made);
  return made;
}

/**
 * The connection's tags as `input.connection.tags`: the configuration's own object when it is deeply frozen (as the
 * listeners make it), so every session of a connection shares one — the decision memo keys a request by the identity
 * of such parts (decision-memo.ts, MemoKeyCache), and a copy per session made the sessions of one identity evict each
 * other's keys — else a frozen copy.
 */
function sharedTags(tags: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  return isDeeplyFrozen(tags) ? tags : { ...tags };
}
