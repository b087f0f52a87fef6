import type { SessionAudit } from '../session-audit.js';
import { policyTime } from './policy-time.js';
import type { ConnectionProtocol, PolicyGrant, PolicyIdentity, PolicyInput, PolicyRequest } from './types.js';

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
  return {
    identity: s.identity,
    connection: { name: s.connection.name, protocol: s.protocol, tags: s.connection.tags },
    session: {
      id: s.audit.sessionId,
      node: s.audit.events.nodeId,
      client_addr: s.clientAddr,
      started_at: s.startedAt,
    },
    request,
    time: policyTime(now),
    grants,
  };
}
