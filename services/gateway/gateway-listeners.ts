import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { resolveSecret } from '../shared/config/secrets.js';
import type { TokenVerifier } from '../shared/identity/index.js';
import type { EventPublisher } from '../shared/log/publisher.js';
import type { Logger } from '../shared/logger.js';
import type { GatewayConfig } from './config.js';
import type { GatewayDeps } from './gateway-deps.js';
import type { LoginRefusals } from './login-audit/index.js';
import type { ApprovalService } from './pipeline/index.js';
import { createCopyMasker, createRowMaskerFactory, detectorsFor, maskBytes } from './masking/index.js';
import type { GatewayMetrics } from './metrics.js';
import type { PolicyEngine } from './policy/index.js';
import { ColumnCatalogCache } from './postgres/column-catalog.js';
import { PgListener } from './postgres/listener.js';
import type { PgConnection } from './postgres/listener.js';
import { createSqlDecider } from './postgres/sql-decider.js';
import { SqlAnalysisCache } from './sql/index.js';
import { LineageCache } from './sql/lineage/index.js';
import { createSshDecider, SshListener, sshConnectionsFromConfig } from './ssh/index.js';
import type { ContentMaskerFactory } from './ssh/index.js';

/** What both listeners share: built once by buildGateway. */
export type ListenerParts = {
  config: GatewayConfig;
  log: Logger;
  verifier: TokenVerifier;
  /** The session-event publisher (maybe wrapped, see GatewayDeps.sessionPublisher). */
  publisher: EventPublisher;
  auditBacklog: () => number;
  policy: () => PolicyEngine;
  approvals: ApprovalService | undefined;
  refusals: LoginRefusals;
  metrics: GatewayMetrics;
  deps: GatewayDeps;
  now: () => number;
};

const defaultContentMasker: ContentMaskerFactory = (names) => {
  const detectors = detectorsFor(names);
  return (data) => maskBytes(data, detectors);
};

/** A listener's session and login counters. */
function listenerMetrics(metrics: GatewayMetrics, protocol: 'postgres' | 'ssh') {
  return {
    sessionOpened: () => {
      metrics.sessions.inc({ protocol });
      metrics.sessionsOpened.inc({ protocol });
    },
    sessionClosed: () => metrics.sessions.dec({ protocol }),
    loginFailed: (code: string) => metrics.logins.inc({ protocol, code }),
  };
}

/** The PostgreSQL connections with their catalog caches (to load before listening: unknown relations mask whole). */
export function postgresConnections(config: GatewayConfig, log: Logger) {
  const analyses = new SqlAnalysisCache({
    maxEntries: config.sql.analysisCacheEntries,
    maxTextLength: config.sql.maxCachedTextLength,
  });
  const connections = new Map<string, PgConnection>();
  const catalogs = new Map<string, ColumnCatalogCache>();
  const lineages = new Map<string, LineageCache>();
  for (const c of config.connections) {
    if (c.protocol !== 'postgres') continue;
    const password = c.upstream.password;
    const connection: PgConnection = {
      name: c.name,
      tags: c.tags,
      target: { connection: c.name, ...c.upstream },
      password: () => resolveSecret(password),
    };
    resolveSecret(password); // fail at start, not at the first login
    connections.set(c.name, connection);
    const catalog = new ColumnCatalogCache(
      connection.target,
      connection.password,
      log,
      config.sql.catalogRefreshMinMs,
    );
    catalogs.set(c.name, catalog);
    lineages.set(
      c.name,
      new LineageCache(analyses, () => catalog, {
        maxEntries: config.sql.lineageCacheEntries,
        maxTextLength: config.sql.maxCachedTextLength,
      }),
    );
  }
  return { connections, catalogs, lineages };
}

export type PostgresConnections = ReturnType<typeof postgresConnections>;

export function buildPgListener(p: ListenerParts, pg: PostgresConnections): PgListener | undefined {
  const pgConfig = p.config.listeners.postgres;
  if (!pgConfig) return undefined;
  const { metrics, approvals } = p;
  return new PgListener({
    config: pgConfig,
    nodeId: p.config.nodeId,
    tls: pgConfig.tls
      ? createSecureContext({ cert: readFileSync(pgConfig.tls.cert), key: readFileSync(pgConfig.tls.key) })
      : null,
    connections: pg.connections,
    verifyToken: (token) => p.verifier.verify(token),
    publisher: p.publisher,
    sessionsTopic: p.config.kafka.topics.sessions,
    maxEventBytes: p.config.kafka.publisher.maxEventBytes,
    decider: ({ audit, identity, connection, clientAddr }) =>
      createSqlDecider({
        policy: p.policy,
        lineage: pg.lineages.get(connection.name)!,
        audit,
        identity,
        connection,
        clientAddr: clientAddr.replace(/:\d+$/, ''),
        startedAt: Math.floor(p.now() / 1000),
        log: p.log.child({ session: audit.sessionId }),
        ...(approvals ? { approvals } : {}),
        onDecision: (r) => metrics.recordDecision('postgres', r),
      }),
    maskers: (connection) => {
      const catalog = pg.catalogs.get(connection.name)!;
      return createRowMaskerFactory(catalog.lookup, () => catalog.version);
    },
    copyMasker: createCopyMasker,
    log: p.log.child({ listener: 'postgres' }),
    metrics: listenerMetrics(metrics, 'postgres'),
    refusals: p.refusals,
  });
}

/** The SSH listener: the SSH user name selects the connection, the token is the password. */
export function buildSshListener(p: ListenerParts): SshListener | undefined {
  const sshConfig = p.config.listeners.ssh;
  if (!sshConfig) return undefined;
  const { metrics, approvals } = p;
  return new SshListener({
    config: sshConfig,
    nodeId: p.config.nodeId,
    hostKey: readFileSync(sshConfig.hostKey),
    connections: sshConnectionsFromConfig(p.config.connections),
    verifyToken: (token) => p.verifier.verify(token),
    publisher: p.publisher,
    sessionsTopic: p.config.kafka.topics.sessions,
    maxEventBytes: p.config.kafka.publisher.maxEventBytes,
    maxBatchBytes: p.config.kafka.publisher.maxBatchBytes,
    auditBacklog: p.auditBacklog,
    decider: ({ audit, identity, connection, clientAddr, log: sessionLog }) =>
      createSshDecider({
        policy: p.policy,
        audit,
        identity,
        connection,
        clientAddr,
        startedAt: Math.floor(p.now() / 1000),
        log: sessionLog,
        approvals,
        onDecision: (r) => metrics.recordDecision('ssh', r),
      }),
    contentMasker: p.deps.contentMasker ?? defaultContentMasker,
    log: p.log.child({ listener: 'ssh' }),
    metrics: listenerMetrics(metrics, 'ssh'),
    refusals: p.refusals,
  });
}
