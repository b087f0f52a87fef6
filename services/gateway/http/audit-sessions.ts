import type { Socket } from 'node:net';
import type { Identity } from '../../shared/identity/index.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { ApprovalService, RequestPipeline } from '../pipeline/index.js';
import { createRequestPipeline } from '../pipeline/index.js';
import type { PolicyEngine, PolicyResult } from '../policy/index.js';
import type { OpenedAuditSession } from '../audit-session-records.js';
import { closeAuditSession, openAuditSession } from '../audit-session-records.js';

/** One recorded HTTP session: the requests of one bearer token on one client connection (TCP/TLS) to one API. */
export type HttpAuditSession = OpenedAuditSession & {
  readonly pipeline: RequestPipeline;
  readonly identity: Identity;
  readonly connection: { readonly name: string; readonly tags: Readonly<Record<string, string>> };
  requests: number;
  closed: boolean;
};

export type HttpAuditSessionsOptions = {
  nodeId: string;
  publisher: EventPublisher;
  topic: string;
  maxEventBytes: number;
  maxSessions: number;
  policy: () => PolicyEngine;
  approvals: ApprovalService | undefined;
  onDecision: (r: PolicyResult) => void;
  log: Logger;
  metrics?: { opened(): void; closed(): void };
};

/** Thrown by `open` when the node already holds `maxSessions` (answered 503). */
export class TooManySessionsError extends Error {}

/**
 * HTTP has no session of its own; the gateway records the requests of one client connection with one token to one
 * connection as one audit session: `session.opened` at its first request, `session.closed` when the client's socket
 * closes (or the gateway stops). Keep-alive clients get one session for many requests; `curl` one per call. The
 * token itself is never stored: the key is its sha256.
 */
export class HttpAuditSessions {
  readonly #o: HttpAuditSessionsOptions;
  readonly #bySocket = new WeakMap<Socket, Map<string, HttpAuditSession>>();
  readonly #open = new Set<HttpAuditSession>();

  constructor(o: HttpAuditSessionsOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#open.size;
  }

  /**
   * The session of this socket, token (`tokenDigest`: its sha256) and connection, opened now when there is none.
   * Throws when the log refuses.
   */
  open(
    socket: Socket,
    tokenDigest: string,
    identity: Identity,
    connection: { name: string; tags: Readonly<Record<string, string>> },
    clientAddr: string,
    attributes: Readonly<Record<string, string>>,
  ): HttpAuditSession {
    const key = `${connection.name}\n${tokenDigest}`;
    let sessions = this.#bySocket.get(socket);
    const existing = sessions?.get(key);
    if (existing && !existing.closed) return existing;
    if (this.#open.size >= this.#o.maxSessions)
      throw new TooManySessionsError('too many HTTP sessions on this node');
    const o = this.#o;
    const opened = openAuditSession(o, 'http', identity, connection, clientAddr, attributes);
    const { audit, log } = opened;
    const session: HttpAuditSession = {
      ...opened,
      identity,
      connection,
      requests: 0,
      closed: false,
      pipeline: createRequestPipeline({
        policy: o.policy,
        audit,
        identity,
        connection,
        clientAddr,
        startedAt: Math.floor(opened.startedAtMs / 1000),
        log,
        onDecision: o.onDecision,
        approvals: o.approvals,
      }),
    };
    audit.onFailure((err) => {
      log.error({ reason: err.reason }, 'the audit log refused a record of this session: closing it');
      this.close(session, 'audit refused');
      socket.destroy();
    });
    if (!sessions) {
      sessions = new Map();
      this.#bySocket.set(socket, sessions);
      const all = sessions;
      socket.once('close', () => {
        for (const s of all.values()) this.close(s, 'client closed');
      });
    }
    sessions.set(key, session);
    this.#open.add(session);
    o.metrics?.opened();
    return session;
  }

  close(session: HttpAuditSession, reason: string): void {
    if (session.closed) return;
    session.closed = true;
    this.#open.delete(session);
    this.#o.metrics?.closed();
    closeAuditSession(session, 'http', reason, session.requests);
  }

  closeAll(reason: string): void {
    for (const s of [...this.#open]) this.close(s, reason);
  }
}
