import { create } from '@bufbuild/protobuf';
import ssh2 from 'ssh2';
import type { Client, ClientInfo, Connection, Server } from 'ssh2';
import { SessionClosedSchema, SessionOpenedSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { SessionEvents } from '../../shared/events/session-events.js';
import { TokenError } from '../../shared/identity/index.js';
import type { Identity } from '../../shared/identity/index.js';
import { logError } from '../../shared/log-error.js';
import { PublishRefusedError } from '../../shared/log/errors.js';
import { printable, RefusalReason, tokenRefusalReason } from '../login-audit/index.js';
import { auditRefusedMessage, SessionAudit } from '../session-audit.js';
import { SshAuthenticator } from './auth.js';
import type { LoginOutcome } from './auth.js';
import { ChannelAudit, sshRecordBytes } from './channel-audit.js';
import { coalesceWrites } from './coalesce-writes.js';
import { SshErrorCode } from './errors.js';
import { SshSession } from './ssh-session.js';
import { StreamMasker } from './stream-masker.js';
import { TcpAcceptor } from './tcp-acceptor.js';
import type { PendingLogin } from './tcp-acceptor.js';
import type { SshConnection, SshListenerDeps } from './listener-deps.js';
import { connectUpstream } from './upstream.js';

type Opened = {
  identity: Identity;
  connection: SshConnection;
  audit: SessionAudit;
  upstream: Client;
  clientAddr: string;
};

const MAX_NAME_IN_MESSAGE = 64;

/** A login failure, with what the attempt established (for the `login_refused` event). */
type Refused = Extract<LoginOutcome<Opened>, { ok: false }> & {
  reason: RefusalReason;
  identity?: Identity | undefined;
};

/**
 * The SSH listener: an SSH server (ssh2) whose user name selects the connection and whose password is the
 * caller's OIDC access token. After login it opens the upstream SSH connection with the gateway's own key (the
 * client never sees it; the upstream host key is pinned) and hands both to an `SshSession`.
 */
export class SshListener {
  readonly #d: SshListenerDeps;
  readonly #server: Server;
  readonly #sessions = new Set<SshSession>();
  #pendingLogins = 0;
  #stopping = false;

  readonly #tcp: TcpAcceptor;

  constructor(deps: SshListenerDeps) {
    this.#d = deps;
    this.#server = new ssh2.Server({ hostKeys: [deps.hostKey], ident: 'Gatehouse' }, (conn, info) =>
      this.#accept(conn, info),
    );
    this.#server.on('error', (err: Error) => logError(deps.log, err, 'ssh listener error'));
    this.#tcp = new TcpAcceptor({
      authTimeoutMs: deps.config.authTimeoutMs,
      // A hard bound on TCP connections (authenticated or not); the soft bound with a message is `maxSessions`.
      maxConnections: deps.config.maxSessions * 2,
      proxyProtocol: deps.config.proxyProtocol,
      log: deps.log,
      onSocket: (socket) => {
        coalesceWrites(socket);
        this.#server.injectSocket(socket);
      },
      onTimeout: (pending) => {
        deps.metrics.loginFailed(SshErrorCode.authTimeout);
        this.#refuse(pending, {
          reason: RefusalReason.authTimeout,
          code: SshErrorCode.authTimeout,
          message: pending.identified
            ? 'gatehouse: login timed out'
            : 'gatehouse: login timed out (no SSH identification line)',
        });
      },
    });
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  listen(): Promise<number> {
    return this.#tcp.listen(this.#d.config.port, this.#d.config.host);
  }

  /** Stops accepting; existing sessions continue until they end or `drain` closes them. */
  stopAccepting(): Promise<void> {
    this.#stopping = true;
    return this.#tcp.close();
  }

  /** Waits up to `timeoutMs` for sessions to end on their own, then closes the rest with a message. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const s of this.#sessions) s.close('gateway shutting down', 'gatehouse: gateway shutting down');
  }

  #accept(conn: Connection, info: ClientInfo): void {
    const d = this.#d;
    const peer = `${info.ip}:${info.port}`;
    conn.on('error', (err: Error) =>
      logError(d.log, err, 'ssh connection error', { level: 'debug', client: peer }),
    );
    const pending = this.#tcp.pending(peer);
    if (!pending) {
      d.log.warn({ client: peer }, 'ssh connection whose TCP connection already timed out or closed');
      conn.end();
      return;
    }
    // The peer, or behind a balancer the client its PROXY header named.
    const clientAddr = pending.clientAddr;
    pending.identified = true;
    pending.clientVersion = printable(info.header.identRaw, 255);
    const full = this.#sessions.size + this.#pendingLogins >= d.config.maxSessions;
    if (full) {
      d.metrics.loginFailed(SshErrorCode.tooManySessions);
      this.#refuse(pending, {
        reason: RefusalReason.tooManySessions,
        code: SshErrorCode.tooManySessions,
        message: 'gatehouse: too many sessions on this gatehouse node',
      });
    }
    const auth: SshAuthenticator<Opened> = new SshAuthenticator<Opened>({
      login: async (username, token) => {
        pending.username = username;
        try {
          const outcome = await this.#login(username, token, clientAddr, info);
          if (!outcome.ok) this.#refuse(pending, outcome);
          return outcome;
        } catch (err) {
          this.#refuse(pending, {
            reason: RefusalReason.internal,
            code: 'GH_ERR_SSH_LOGIN',
            message: `gatehouse: login failed (${(err as Error).name})`,
          });
          throw err;
        }
      },
      maxAttempts: d.config.maxAuthAttempts,
      refusal: full
        ? {
            code: SshErrorCode.tooManySessions,
            message: 'gatehouse: too many sessions on this gatehouse node',
          }
        : undefined,
      onSuccess: (opened) => {
        this.#tcp.loggedIn(pending);
        this.#startSession(conn, opened);
      },
      onFailure: (code) => d.metrics.loginFailed(code),
      onDiscard: (opened) => this.#discard(opened, 'client left during login'),
      onExhausted: () => conn.end(),
    });
    pending.cancel = () => auth.cancel();
    conn.on('authentication', (ctx) => {
      if (ctx.username !== '') pending.username = ctx.username;
      auth.handle(ctx);
    });
    conn.once('close', () => auth.cancel());
  }

  /** Records one refused login of this TCP connection. */
  #refuse(
    pending: PendingLogin,
    r: { reason: RefusalReason; code: string; message: string; identity?: Identity | undefined },
  ): void {
    this.#d.refusals.record({
      protocol: 'ssh',
      reason: r.reason,
      code: r.code,
      clientAddr: pending.clientAddr,
      connection: pending.username,
      tags: this.#d.connections.get(pending.username)?.tags,
      detail: r.message,
      identity: r.identity,
      attributes: pending.identified ? { client_version: pending.clientVersion } : { identified: 'false' },
    });
  }

  async #login(
    username: string,
    token: string,
    clientAddr: string,
    info: ClientInfo,
  ): Promise<LoginOutcome<Opened> & ({ ok: true } | Refused)> {
    const d = this.#d;
    let identity: Identity;
    try {
      identity = await d.verifyToken(token);
    } catch (err) {
      const code = (err as { code?: string }).code ?? SshErrorCode.token;
      const reason = err instanceof TokenError ? err.message : 'token could not be verified';
      return {
        ok: false,
        code,
        message: `gatehouse: access token rejected: ${reason}`,
        reason: token === '' ? RefusalReason.noToken : tokenRefusalReason(err),
        identity: err instanceof TokenError ? err.verifiedIdentity : undefined,
      };
    }
    // Only now, with a valid token, is the connection name checked (an unknown name is not revealed before).
    const connection = d.connections.get(username);
    if (!connection) {
      return {
        ok: false,
        code: SshErrorCode.unknownConnection,
        message: `gatehouse: unknown connection "${printable(username, MAX_NAME_IN_MESSAGE)}" (the ssh user name selects the gatehouse connection)`,
        final: true,
        reason: RefusalReason.unknownConnection,
        identity,
      };
    }
    if (this.#stopping) {
      return {
        ok: false,
        code: SshErrorCode.stopping,
        message: 'gatehouse: this node is shutting down',
        final: true,
        reason: RefusalReason.stopping,
        identity,
      };
    }
    if (this.#sessions.size + this.#pendingLogins >= d.config.maxSessions) {
      return {
        ok: false,
        code: SshErrorCode.tooManySessions,
        message: 'gatehouse: too many sessions on this gatehouse node',
        final: true,
        reason: RefusalReason.tooManySessions,
        identity,
      };
    }
    this.#pendingLogins++;
    try {
      return await this.#open(identity, connection, clientAddr, info);
    } finally {
      this.#pendingLogins--;
    }
  }

  async #open(
    identity: Identity,
    connection: SshConnection,
    clientAddr: string,
    info: ClientInfo,
  ): Promise<LoginOutcome<Opened> & ({ ok: true } | Refused)> {
    const d = this.#d;
    const auditDown: Refused = {
      ok: false,
      code: SshErrorCode.auditUnavailable,
      message: 'gatehouse: audit log unavailable: gatehouse is not accepting sessions',
      final: true,
      reason: RefusalReason.auditUnavailable,
      identity,
    };
    const events = new SessionEvents({
      nodeId: d.nodeId,
      protocol: 'ssh',
      connection: { name: connection.name, tags: connection.tags },
      identity,
    });
    const audit = new SessionAudit(
      events,
      d.publisher,
      d.sessionsTopic,
      sshRecordBytes(d.maxEventBytes, d.maxBatchBytes),
    );
    try {
      audit.assertAccepting();
    } catch {
      return auditDown;
    }
    let upstream: Client;
    try {
      upstream = await connectUpstream(connection.target, d.log);
    } catch (err) {
      const e = err as { code?: string; message: string };
      logError(d.log, err, 'upstream login failed', { level: 'warn', connection: connection.name });
      return {
        ok: false,
        code: e.code ?? SshErrorCode.upstream,
        message: `gatehouse: ${e.message}`,
        final: true,
        reason: RefusalReason.upstreamUnavailable,
        identity,
      };
    }
    upstream.on('error', () => undefined);
    try {
      await audit.durable({
        case: 'sessionOpened',
        value: create(SessionOpenedSchema, {
          clientAddr,
          attributes: { client_version: printable(info.header.identRaw, 255), ssh_user: connection.name },
        }),
      });
    } catch (err) {
      upstream.end();
      if (err instanceof PublishRefusedError) {
        return { ...auditDown, message: auditRefusedMessage(err.reason) };
      }
      return auditDown;
    }
    return { ok: true, value: { identity, connection, audit, upstream, clientAddr } };
  }

  #startSession(conn: Connection, opened: Opened): void {
    const d = this.#d;
    const { identity, connection, audit, upstream, clientAddr } = opened;
    const log = d.log.child({ session: audit.sessionId, sub: identity.sub, connection: connection.name });
    const c = d.config;
    const session: SshSession = new SshSession({
      conn,
      upstream,
      audit,
      channelAudit: new ChannelAudit(audit, {
        chunkBytes: c.auditChunkBytes,
        backlogBytes: c.auditBacklogBytes,
        backlog: d.auditBacklog,
        backlogWaitMs: c.auditBacklogWaitMs,
      }),
      decide: d.decider({ audit, identity, connection, clientAddr: clientAddr.replace(/:\d+$/, ''), log }),
      maskerFor: (detectors) =>
        detectors.length === 0
          ? null
          : new StreamMasker(d.contentMasker(detectors), {
              maxLineBytes: c.maskLineBytes,
              carryBytes: c.maskCarryBytes,
            }),
      maskFlushMs: c.maskFlushMs,
      timeouts: {
        openMs: c.channelOpenTimeoutMs,
        flushMs: c.outputFlushTimeoutMs,
        closeGraceMs: c.closeGraceMs,
      },
      idleTimeoutMs: c.idleTimeoutMs,
      log,
      onClose: (reason) => {
        this.#sessions.delete(session);
        d.metrics.sessionClosed();
        log.info({ reason, requests: session.requests }, 'session closed');
      },
    });
    this.#sessions.add(session);
    d.metrics.sessionOpened();
    log.info({ client: clientAddr, agent: identity.agent }, 'session opened');
    session.start();
    audit.onFailure((err) => {
      log.error({ reason: err.reason }, 'the audit log refused a record of this session: closing it');
      session.close('audit refused', auditRefusedMessage(err.reason));
    });
  }

  #discard(opened: Opened, reason: string): void {
    opened.upstream.end();
    try {
      opened.audit.batched({ case: 'sessionClosed', value: create(SessionClosedSchema, { reason }) });
    } catch {
      // the audit log is refusing: nothing ran in this session
    }
  }
}
