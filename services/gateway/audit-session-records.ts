import { create } from '@bufbuild/protobuf';
import { SessionClosedSchema, SessionOpenedSchema } from '../../proto/gen/gatehouse/v1/events_pb.js';
import { SessionEvents } from '../shared/events/session-events.js';
import type { Identity } from '../shared/identity/index.js';
import { logError } from '../shared/log-error.js';
import type { EventPublisher } from '../shared/log/publisher.js';
import type { Logger } from '../shared/logger.js';
import { SessionAudit } from './session-audit.js';

/** Where the audit sessions of one listener are recorded. */
export type AuditSessionSink = {
  readonly nodeId: string;
  readonly publisher: EventPublisher;
  readonly topic: string;
  readonly maxEventBytes: number;
  readonly log: Logger;
};

/** One audit session that a request-based listener (HTTP proxy, MCP) groups its requests into. */
export type OpenedAuditSession = {
  readonly audit: SessionAudit;
  /** Child logger with session id, subject and connection. */
  readonly log: Logger;
  readonly startedAtMs: number;
};

/**
 * Opens the audit stream of a session that protocols without sessions of their own (HTTP, MCP over Streamable HTTP)
 * make from the requests of one token: checks that the log accepts records (throws when it does not), records
 * `session.opened`, logs it.
 */
export function openAuditSession(
  sink: AuditSessionSink,
  protocol: 'http' | 'mcp',
  identity: Identity,
  connection: { name: string; tags: Readonly<Record<string, string>> },
  clientAddr: string,
  attributes: Readonly<Record<string, string>>,
  nowMs: number = Date.now(),
): OpenedAuditSession {
  const events = new SessionEvents({ nodeId: sink.nodeId, protocol, connection, identity });
  const audit = new SessionAudit(events, sink.publisher, sink.topic, sink.maxEventBytes);
  audit.assertAccepting();
  audit.batched({
    case: 'sessionOpened',
    value: create(SessionOpenedSchema, { clientAddr, attributes: { ...attributes } }),
  });
  const log = sink.log.child({ session: audit.sessionId, sub: identity.sub, connection: connection.name });
  log.info({ client: clientAddr, agent: identity.agent }, `${protocol} session opened`);
  return { audit, log, startedAtMs: nowMs };
}

/** Records `session.closed` (reason, request count, duration) and logs it; a refused record is only logged. */
export function closeAuditSession(
  session: OpenedAuditSession,
  protocol: 'http' | 'mcp',
  reason: string,
  requests: number,
  nowMs: number = Date.now(),
): void {
  try {
    session.audit.batched({
      case: 'sessionClosed',
      value: create(SessionClosedSchema, {
        reason,
        requests: BigInt(requests),
        durationMicros: BigInt(Math.max(0, nowMs - session.startedAtMs)) * 1000n,
      }),
    });
  } catch (err) {
    logError(session.log, err, 'session.closed not recorded', { level: 'warn' });
  }
  session.log.info({ reason, requests }, `${protocol} session closed`);
}
