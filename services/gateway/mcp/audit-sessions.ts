import type { Identity } from '../../shared/identity/index.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { PipelineSession } from '../pipeline/index.js';
import type { OpenedAuditSession } from '../audit-session-records.js';
import { closeAuditSession, openAuditSession } from '../audit-session-records.js';
import { sha256Hex } from './canonical-json.js';

/** One recorded MCP session: the messages of one bearer token on one connection, on this node, until idle. */
export type McpAuditSession = Pick<
  PipelineSession,
  'audit' | 'identity' | 'connection' | 'clientAddr' | 'startedAt' | 'log'
> &
  OpenedAuditSession & {
    readonly key: string;
    requests: number;
    lastUsed: number;
    /** Requests of this session currently held for approval. */
    held: number;
  };

export type McpAuditSessionsOptions = {
  nodeId: string;
  publisher: EventPublisher;
  topic: string;
  maxEventBytes: number;
  maxSessions: number;
  idleTimeoutMs: number;
  log: Logger;
  metrics?: { opened(): void; closed(): void };
  now?: () => number;
};

/**
 * MCP over Streamable HTTP has no connection to hang a session on (2026-07-28 is stateless per request), so the
 * gateway groups the messages of one bearer token on one connection into one audit session on this node: opened
 * (`session.opened`) by the first message, closed (`session.closed`) after `idleTimeoutMs` without one, at shutdown,
 * or when `maxSessions` are open and a new one needs room (the idlest goes). The token itself is never stored: the
 * key is its sha256.
 */
export class McpAuditSessions {
  readonly #o: McpAuditSessionsOptions;
  readonly #sessions = new Map<string, McpAuditSession>();
  readonly #now: () => number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(o: McpAuditSessionsOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  start(): void {
    const every = Math.max(250, Math.floor(this.#o.idleTimeoutMs / 4));
    this.#sweeper = setInterval(() => this.sweep(), every);
    this.#sweeper.unref();
  }

  /** The session of this token and connection, opened now when there is none. Throws when the audit log refuses. */
  open(
    token: string,
    identity: Identity,
    connection: { name: string; tags: Readonly<Record<string, string>> },
    clientAddr: string,
    attributes: Readonly<Record<string, string>>,
  ): McpAuditSession {
    const key = `${connection.name}\n${sha256Hex(token)}`;
    const existing = this.#sessions.get(key);
    if (existing) {
      existing.lastUsed = this.#now();
      // Map order = least recently used first.
      this.#sessions.delete(key);
      this.#sessions.set(key, existing);
      return existing;
    }
    if (this.#sessions.size >= this.#o.maxSessions) this.#evictIdlest();
    const o = this.#o;
    const opened = openAuditSession(o, 'mcp', identity, connection, clientAddr, attributes, this.#now());
    const { audit } = opened;
    const session: McpAuditSession = {
      ...opened,
      key,
      identity,
      connection,
      clientAddr,
      startedAt: Math.floor(opened.startedAtMs / 1000),
      requests: 0,
      lastUsed: this.#now(),
      held: 0,
    };
    audit.onFailure((err) => {
      session.log.error({ reason: err.reason }, 'the audit log refused a record of this session: closing it');
      this.close(session, 'audit refused');
    });
    this.#sessions.set(key, session);
    o.metrics?.opened();
    return session;
  }

  close(session: McpAuditSession, reason: string): void {
    if (this.#sessions.get(session.key) !== session) return;
    this.#sessions.delete(session.key);
    this.#o.metrics?.closed();
    closeAuditSession(session, 'mcp', reason, session.requests, this.#now());
  }

  /** Closes sessions idle longer than `idleTimeoutMs` (none holding a request for approval). */
  sweep(): void {
    const limit = this.#now() - this.#o.idleTimeoutMs;
    for (const s of [...this.#sessions.values()]) {
      if (s.lastUsed < limit && s.held === 0) this.close(s, 'idle');
    }
  }

  closeAll(reason: string): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const s of [...this.#sessions.values()]) this.close(s, reason);
  }

  #evictIdlest(): void {
    for (const s of this.#sessions.values()) {
      if (s.held === 0) {
        this.close(s, 'too many sessions on this node');
        return;
      }
    }
  }
}
