import type { ConnectionConfig } from '../config.js';
import type { ListenerParts } from '../gateway-listeners.js';
import { deepFreeze } from '../pipeline/frozen-json.js';
import { HttpAuditSessions } from './audit-sessions.js';
import { HttpListener } from './listener.js';
import type { HttpConnection } from './listener.js';
import { HttpUpstream } from './upstream.js';

/** The `protocol: http` connections, each with its upstream client (credentials resolved now: a missing one fails). */
export function httpConnectionsFromConfig(
  connections: readonly ConnectionConfig[],
): Map<string, HttpConnection> {
  const out = new Map<string, HttpConnection>();
  for (const c of connections) {
    if (c.protocol !== 'http') continue;
    // Tags frozen whole: policy input of every request (the decision memo reuses keys made of frozen parts).
    out.set(c.name, {
      name: c.name,
      tags: deepFreeze({ ...c.tags }),
      upstream: new HttpUpstream(c.upstream),
    });
  }
  return out;
}

/** The HTTP reverse proxy of a gateway node when `listeners.http` is configured (nothing listens until `listen()`). */
export function buildHttpListener(p: ListenerParts): HttpListener | undefined {
  const c = p.config.listeners.http;
  if (!c) return undefined;
  const log = p.log.child({ listener: 'http' });
  const m = p.metrics;
  return new HttpListener({
    config: c,
    connections: httpConnectionsFromConfig(p.config.connections),
    verifyToken: (token) => p.verifier.verify(token),
    sessions: new HttpAuditSessions({
      nodeId: p.config.nodeId,
      publisher: p.publisher,
      topic: p.config.kafka.topics.sessions,
      maxEventBytes: p.config.kafka.publisher.maxEventBytes,
      maxSessions: c.maxSessions,
      policy: p.policy,
      approvals: p.approvals,
      onDecision: (r) => m.recordDecision('http', r),
      log,
      metrics: {
        opened: () => m.sessions.inc({ protocol: 'http' }),
        closed: () => m.sessions.dec({ protocol: 'http' }),
      },
    }),
    log,
    refusals: p.refusals,
    metrics: { loginFailed: (code) => m.logins.inc({ protocol: 'http', code }) },
  });
}
