import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { create } from '@bufbuild/protobuf';
import { SessionOpenedSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { SessionEvents } from '../../shared/events/session-events.js';
import type { Identity } from '../../shared/identity/index.js';
import { logError } from '../../shared/log-error.js';
import { PublishRefusedError } from '../../shared/log/errors.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { PostgresListenerConfig } from '../config.js';
import { auditRefusedMessage, SessionAudit } from '../session-audit.js';
import { RefusalReason, tokenRefusalReason } from '../login-audit/index.js';
import type { LoginRefusal } from '../login-audit/index.js';
import { CancelRegistry } from './cancel-registry.js';
import {
  authenticationOk,
  backendKeyData,
  errorResponse,
  parameterStatus,
  readyForQuery,
} from '../../shared/pg-wire/index.js';
import { PgClientError } from './errors.js';
import { CancelHandled, login, newLoginAttempt } from './login.js';
import type { LoginAttempt, LoginResult } from './login.js';
import type { CopyMasker, MaskerFactory, MaskSpec } from './response-pipeline.js';
import { PgSession } from './session.js';
import { cancelUpstream, connectUpstream } from './upstream.js';
import type { UpstreamTarget } from './upstream.js';
import type { SqlDecider } from './verdict.js';
import { clientBehind } from '../proxy-protocol/read-proxy-header.js';

export type PgConnection = {
  name: string;
  tags: Readonly<Record<string, string>>;
  target: UpstreamTarget;
  password: () => string;
};

export type PgListenerDeps = {
  config: PostgresListenerConfig;
  nodeId: string;
  tls: SecureContext | null;
  connections: ReadonlyMap<string, PgConnection>;
  verifyToken: (token: string) => Promise<Identity>;
  publisher: EventPublisher;
  sessionsTopic: string;
  /** Largest encoded audit event; larger ones become continuation frames (kafka.publisher.maxEventBytes). */
  maxEventBytes: number;
  /** Builds the SQL decider of one session (policy input needs the session's identity and connection). */
  decider: (ctx: {
    audit: SessionAudit;
    identity: Identity;
    connection: PgConnection;
    clientAddr: string;
  }) => SqlDecider;
  maskers: (connection: PgConnection) => MaskerFactory;
  copyMasker: (spec: MaskSpec) => CopyMasker;
  log: Logger;
  metrics: { sessionOpened(): void; sessionClosed(): void; loginFailed(code: string): void };
  /** Records refused logins (`login_refused` events). */
  refusals: { record(r: LoginRefusal): void };
};

function log0(d: PgListenerDeps, err: unknown): void {
  logError(d.log, err, 'session start failed', { withStack: true });
}

type CancelTarget = { target: UpstreamTarget; pid: number; secret: number };

/**
 * The PostgreSQL listener: accepts client connections (bounded by `maxSessions`), logs them in with their OIDC
 * token, opens the upstream session with the gateway's own credentials and hands both sockets to a `PgSession`.
 */
export class PgListener {
  readonly #d: PgListenerDeps;
  readonly #server: Server;
  readonly #sessions = new Set<PgSession>();
  readonly #cancels = new CancelRegistry<CancelTarget>();
  #sockets = 0;

  constructor(deps: PgListenerDeps) {
    this.#d = deps;
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#d.config.port, this.#d.config.host, () => {
        const address = this.#server.address();
        resolve(typeof address === 'object' && address ? address.port : this.#d.config.port);
      });
    });
  }

  /** Stops accepting; existing sessions continue until they end or `closeSessions` is called. */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Waits up to `timeoutMs` for sessions to end on their own, then closes the rest. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const s of this.#sessions) s.close('gateway shutting down');
  }

  #accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    const proxy = this.#d.config.proxyProtocol;
    if (!proxy) {
      this.#admit(socket, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`);
      return;
    }
    // Behind a balancer: the client is the one its PROXY header names (read, then the socket resumes).
    clientBehind(socket, proxy).then(
      ({ address, proxied }) => {
        this.#admit(socket, `${address.address}:${address.port}`);
        if (proxied) socket.resume();
      },
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        this.#d.log.warn(
          { peer: socket.remoteAddress, reason },
          'PROXY protocol header refused; connection closed',
        );
        socket.destroy();
      },
    );
  }

  #admit(socket: Socket, clientAddr: string): void {
    const { config, log } = this.#d;
    if (this.#sockets >= config.maxSessions) {
      const message = 'too many sessions on this gatehouse node';
      socket.end(errorResponse({ severity: 'FATAL', code: '53300', message }));
      // Drop what the client already sent so its close is seen (unread bytes would hold the socket, and the
      // listener's close, forever); a client that never closes is cut off at the auth timeout.
      socket.resume();
      const cutOff = setTimeout(() => socket.destroy(), config.authTimeoutMs);
      socket.once('close', () => clearTimeout(cutOff));
      this.#d.metrics.loginFailed('GH_ERR_PG_TOO_MANY_SESSIONS');
      this.#d.refusals.record({
        protocol: 'postgres',
        reason: RefusalReason.tooManySessions,
        code: 'GH_ERR_PG_TOO_MANY_SESSIONS',
        clientAddr,
        connection: '',
        detail: message,
      });
      return;
    }
    this.#sockets++;
    socket.once('close', () => this.#sockets--);
    const attempt = newLoginAttempt();
    void this.#open(socket, clientAddr, attempt).catch((err: unknown) => {
      if (err instanceof CancelHandled) return;
      const e = err instanceof PgClientError ? err : null;
      const code = e?.code ?? 'GH_ERR_PG_LOGIN';
      this.#d.metrics.loginFailed(code);
      // A bare TCP connect that leaves without a StartupMessage is no login attempt (port scans, TCP checks).
      if (e || attempt.startup) {
        this.#d.refusals.record({
          protocol: 'postgres',
          reason: refusalReason(e, attempt),
          code,
          clientAddr,
          connection: attempt.connection,
          tags: this.#d.connections.get(attempt.connection)?.tags,
          detail: e?.message ?? 'client closed the connection during login',
          identity: attempt.identity,
          attributes: attempt.attributes,
        });
      } else {
        logError(log, err, 'connection closed before login', { level: 'debug', client: clientAddr });
      }
      // A PgClientError was already sent with the connection's end; anything else just closes it.
      if (!e) socket.destroy();
    });
  }

  async #open(raw: Socket, clientAddr: string, attempt: LoginAttempt): Promise<void> {
    const d = this.#d;
    const result = await login(raw, {
      tls: d.tls,
      allowPlaintext: d.config.allowPlaintext,
      maxMessageBytes: d.config.maxMessageBytes,
      timeoutMs: d.config.authTimeoutMs,
      hasConnection: (name) => d.connections.has(name),
      verifyToken: d.verifyToken,
      onCancel: (msg) => {
        const t = this.#cancels.lookup(msg.processId, msg.secretKey);
        if (t) cancelUpstream(t.target, t.pid, t.secret);
      },
      attempt,
    });
    try {
      await this.#start(result, clientAddr);
    } catch (err) {
      const e = err instanceof PgClientError ? err : null;
      if (!e) log0(d, err);
      const fatal =
        e ??
        new PgClientError('GH_ERR_PG_INTERNAL', 'XX000', 'internal gateway error', { severity: 'FATAL' });
      result.socket.end(
        errorResponse({ severity: fatal.severity, code: fatal.sqlstate, message: fatal.message }),
      );
      throw fatal;
    }
  }

  async #start(result: LoginResult, clientAddr: string): Promise<void> {
    const d = this.#d;
    const { socket, startup, identity, parser } = result;
    const connection = d.connections.get(startup.parameters.database ?? startup.parameters.user ?? '')!;
    const events = new SessionEvents({
      nodeId: d.nodeId,
      protocol: 'postgres',
      connection: { name: connection.name, tags: connection.tags },
      identity,
    });
    const log = d.log.child({ session: events.sessionId, sub: identity.sub, connection: connection.name });
    const audit = new SessionAudit(events, d.publisher, d.sessionsTopic, d.maxEventBytes);
    try {
      audit.assertAccepting();
    } catch {
      throw new PgClientError(
        'GH_ERR_PG_AUDIT_UNAVAILABLE',
        '57P03',
        'audit log unavailable: gatehouse is not accepting sessions',
        {
          severity: 'FATAL',
        },
      );
    }
    const upstream = await connectUpstream(
      connection.target,
      connection.password(),
      result.settings.upstream,
    );
    const opened = audit.durable({
      case: 'sessionOpened',
      value: create(SessionOpenedSchema, {
        clientAddr,
        attributes: { application_name: startup.parameters.application_name ?? '', tls: String(result.tls) },
      }),
    });
    try {
      await opened;
    } catch (err) {
      upstream.socket.destroy();
      if (err instanceof PublishRefusedError) {
        const sqlstate = /TOO_LARGE/.test(err.reason) ? '54000' : '58000';
        throw new PgClientError('GH_ERR_PG_AUDIT_UNAVAILABLE', sqlstate, auditRefusedMessage(err.reason), {
          severity: 'FATAL',
        });
      }
      throw new PgClientError(
        'GH_ERR_PG_AUDIT_UNAVAILABLE',
        '57P03',
        'audit log unavailable: session not opened',
        {
          severity: 'FATAL',
        },
      );
    }
    const key = this.#cancels.register({
      target: connection.target,
      pid: upstream.backendPid,
      secret: upstream.backendSecret,
    });
    const hello: Buffer[] = [authenticationOk()];
    for (const [name, value] of upstream.parameters) hello.push(parameterStatus(name, value));
    hello.push(backendKeyData(key.pid, key.secret), readyForQuery('I'));
    socket.write(Buffer.concat(hello));
    const session: PgSession = new PgSession({
      client: socket,
      upstream: upstream.socket,
      parser,
      audit,
      decide: d.decider({ audit, identity, connection, clientAddr }),
      maskers: d.maskers(connection),
      copyMasker: d.copyMasker,
      log,
      limits: {
        rowsPerEvent: d.config.auditRowBatch,
        bytesPerEvent: d.config.auditBatchBytes,
        idleTimeoutMs: d.config.idleTimeoutMs,
        maxBackendMessageBytes: d.config.maxBackendMessageBytes,
        maxNames: d.config.maxNamesPerSession,
      },
      onClose: (reason) => {
        this.#sessions.delete(session);
        this.#cancels.unregister(key.pid);
        d.metrics.sessionClosed();
        log.info({ reason, requests: session.requests }, 'session closed');
      },
    });
    this.#sessions.add(session);
    d.metrics.sessionOpened();
    log.info({ client: clientAddr, agent: identity.agent }, 'session opened');
    session.start();
  }
}

/** The `login_refused` reason of a failed login. */
function refusalReason(err: PgClientError | null, attempt: LoginAttempt): RefusalReason {
  switch (err?.code) {
    case undefined:
      return RefusalReason.clientClosed;
    case 'GH_ERR_PG_LOGIN_TIMEOUT':
      return RefusalReason.authTimeout;
    case 'GH_ERR_PG_TLS_REQUIRED':
      return RefusalReason.plaintextRefused;
    case 'GH_ERR_PG_UNKNOWN_CONNECTION':
      return RefusalReason.unknownConnection;
    case 'GH_ERR_PG_NO_TOKEN':
      return RefusalReason.noToken;
    case 'GH_ERR_PG_AUTH':
      return tokenRefusalReason(attempt.tokenError);
    case 'GH_ERR_PG_AUDIT_UNAVAILABLE':
      return RefusalReason.auditUnavailable;
    case 'GH_ERR_PG_UPSTREAM':
      return RefusalReason.upstreamUnavailable;
    case 'GH_ERR_PG_INTERNAL':
      return RefusalReason.internal;
    default:
      return RefusalReason.protocolError;
  }
}
