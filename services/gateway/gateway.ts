import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { resolveSecret } from '../shared/config/secrets.js';
import { createTokenVerifier } from '../shared/identity/index.js';
import { createKafka } from '../shared/log/kafka.js';
import { kafkaSecurity } from '../shared/log/kafka-security.js';
import { KafkaPublisher } from '../shared/log/publisher.js';
import { ensureTopics } from '../shared/log/topics.js';
import type { Logger } from '../shared/logger.js';
import { loadTrustedKeys } from '../shared/signing/signing-keys.js';
import { startHealthServer } from '../shared/runtime/health-server.js';
import type { GatewayConfig } from './config.js';
import { createCopyMasker, createRowMaskerFactory } from './masking/index.js';
import { ApprovalWaiter } from './approvals/approval-waiter.js';
import { createGatewayMetrics } from './metrics.js';
import { LoginRefusals } from './login-audit/index.js';
import { loadPolicyBundle } from './policy/index.js';
import type { PolicyEngine } from './policy/index.js';
import { ColumnCatalogCache } from './postgres/column-catalog.js';
import { PgListener } from './postgres/listener.js';
import type { PgConnection } from './postgres/listener.js';
import { createSqlDecider } from './postgres/sql-decider.js';
import { loadSqlParser, SqlAnalysisCache } from './sql/index.js';
import { LineageCache } from './sql/lineage/index.js';
import { detectorsFor, maskBytes } from './masking/index.js';
import {
  createSshApprovalHook,
  createSshDecider,
  SshListener,
  sshConnectionsFromConfig,
} from './ssh/index.js';

export type RunningGateway = {
  postgresPort: number | undefined;
  sshPort: number | undefined;
  healthPort: number;
  publisher: KafkaPublisher;
  /** Stop accepting, let sessions finish within `drainMs`, flush the audit log. */
  stop(drainMs?: number): Promise<{ unflushed: number }>;
};

/** Starts one gateway node from a validated configuration (an app factory kept apart from the CLI). */
export async function startGateway(config: GatewayConfig, log: Logger): Promise<RunningGateway> {
  const kafka = createKafka({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-gateway`,
    security: kafkaSecurity(config.kafka),
    logger: log,
  });
  const t = config.kafka.topics;
  if (t.provision) {
    await ensureTopics(
      kafka,
      [t.sessions, t.approvals, t.approvalRequests].map((name) => ({
        name,
        partitions: t.partitions,
        replicationFactor: t.replicationFactor,
        minInsyncReplicas: t.minInsyncReplicas,
        retentionMs: t.retentionHours * 3_600_000,
        maxMessageBytes: t.maxMessageBytes,
      })),
    );
  }
  const publisher = new KafkaPublisher(kafka, log, config.kafka.publisher);
  publisher.start();
  const metrics = createGatewayMetrics(() => publisher);
  let approvals: ApprovalWaiter | undefined;
  if (config.approvals) {
    approvals = new ApprovalWaiter({
      kafka,
      publisher,
      log,
      topic: t.approvals,
      requestTopic: t.approvalRequests,
      nodeId: config.nodeId,
      approvalUrl: config.approvals.url,
      maxPending: config.approvals.maxPending,
      logTimeoutMs: config.approvals.logTimeoutMs,
      trustedKeys: loadTrustedKeys(
        Object.fromEntries(
          Object.entries(config.approvals.trustedKeys).map(([kid, k]) => [
            kid,
            typeof k === 'string' ? k : resolveSecret(k),
          ]),
        ),
      ),
      onRefusedDecision: (s) => metrics.refusedDecisions.inc({ code: s.code }),
      onOrphanDecision: (o) =>
        log.info(
          { approval: o.approvalId, outcome: o.decided.outcome },
          'decision for a request whose client is gone',
        ),
    });
    await approvals.start();
  }
  const policy: PolicyEngine = await loadPolicyBundle(config.policy.bundleDir);
  await loadSqlParser();
  const analyses = new SqlAnalysisCache();
  const verifier = createTokenVerifier({
    issuer: config.oidc.issuer,
    audience: config.oidc.audience,
    ...(config.oidc.jwksUri ? { jwksUri: config.oidc.jwksUri } : {}),
    agentClaim: config.oidc.agentClaim,
    groupsClaim: config.oidc.groupsClaim,
    clockToleranceSeconds: config.oidc.clockToleranceSeconds,
  });
  log.info({ revision: policy.revision, nodeId: config.nodeId }, 'policy loaded');

  const refusals = new LoginRefusals({
    nodeId: config.nodeId,
    publisher,
    topic: t.sessions,
    log: log.child({ component: 'login-audit' }),
    limits: config.loginAudit,
    metrics: {
      unrecorded: () => metrics.loginRefusals.inc({ outcome: 'unrecorded' }),
      suppressed: () => metrics.loginRefusals.inc({ outcome: 'suppressed' }),
    },
  });
  refusals.start();

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
    const catalog = new ColumnCatalogCache(connection.target, connection.password, log);
    catalogs.set(c.name, catalog);
    lineages.set(c.name, new LineageCache(analyses, () => catalog));
    // Until the catalog is loaded every relation is unknown, hence masked whole: load it before listening.
    await catalog.refresh();
  }

  let pg: PgListener | undefined;
  let postgresPort: number | undefined;
  const pgConfig = config.listeners.postgres;
  if (pgConfig) {
    const tls: SecureContext | null = pgConfig.tls
      ? createSecureContext({ cert: readFileSync(pgConfig.tls.cert), key: readFileSync(pgConfig.tls.key) })
      : null;
    pg = new PgListener({
      config: pgConfig,
      nodeId: config.nodeId,
      tls,
      connections,
      verifyToken: (token) => verifier.verify(token),
      publisher,
      sessionsTopic: t.sessions,
      maxEventBytes: config.kafka.publisher.maxEventBytes,
      decider: ({ audit, identity, connection, clientAddr }) =>
        createSqlDecider({
          policy: () => policy,
          lineage: lineages.get(connection.name)!,
          audit,
          identity,
          connection,
          clientAddr: clientAddr.replace(/:\d+$/, ''),
          startedAt: Math.floor(Date.now() / 1000),
          log: log.child({ session: audit.sessionId }),
          ...(approvals ? { approvals } : {}),
          onDecision: (r) => metrics.recordDecision('postgres', r),
        }),
      maskers: (connection) => createRowMaskerFactory(catalogs.get(connection.name)!.lookup),
      copyMasker: createCopyMasker,
      log: log.child({ listener: 'postgres' }),
      metrics: {
        sessionOpened: () => metrics.sessions.inc({ protocol: 'postgres' }),
        sessionClosed: () => metrics.sessions.dec({ protocol: 'postgres' }),
        loginFailed: (code) => metrics.logins.inc({ protocol: 'postgres', code }),
      },
      refusals,
    });
    postgresPort = await pg.listen();
    log.info({ port: postgresPort, tls: tls !== null }, 'postgres listener ready');
  }

  // ---- SSH listener (services/gateway/ssh): the SSH user name selects the connection, the token is the password.
  let ssh: SshListener | undefined;
  let sshPort: number | undefined;
  const sshConfig = config.listeners.ssh;
  if (sshConfig) {
    const sshApprovals = approvals;
    ssh = new SshListener({
      config: sshConfig,
      nodeId: config.nodeId,
      hostKey: readFileSync(sshConfig.hostKey),
      connections: sshConnectionsFromConfig(config.connections),
      verifyToken: (token) => verifier.verify(token),
      publisher,
      sessionsTopic: t.sessions,
      maxEventBytes: config.kafka.publisher.maxEventBytes,
      auditBacklog: () => publisher.stats().bufferedBytes,
      decider: ({ audit, identity, connection, clientAddr, log: sessionLog }) =>
        createSshDecider({
          policy: () => policy,
          audit,
          identity,
          connection,
          clientAddr,
          startedAt: Math.floor(Date.now() / 1000),
          log: sessionLog,
          awaitApproval: sshApprovals ? createSshApprovalHook(sshApprovals) : undefined,
          grants: sshApprovals
            ? (sub, name, fingerprint) => sshApprovals.grantsFor(sub, name, fingerprint)
            : undefined,
          onDecision: (r) => metrics.recordDecision('ssh', r),
        }),
      contentMasker: (names) => {
        const detectors = detectorsFor(names);
        return (data) => maskBytes(data, detectors);
      },
      log: log.child({ listener: 'ssh' }),
      metrics: {
        sessionOpened: () => metrics.sessions.inc({ protocol: 'ssh' }),
        sessionClosed: () => metrics.sessions.dec({ protocol: 'ssh' }),
        loginFailed: (code) => metrics.logins.inc({ protocol: 'ssh', code }),
      },
      refusals,
    });
    sshPort = await ssh.listen();
    log.info({ port: sshPort }, 'ssh listener ready');
  }

  const health = await startHealthServer({
    host: config.health.host,
    port: config.health.port,
    registry: metrics.registry,
    readiness: () => {
      const stats = publisher.stats();
      const kafkaOk = publisher.connected && stats.unavailableForMs === 0;
      const approvalsOk = approvals ? approvals.isHealthy() : true;
      return {
        ready: kafkaOk && approvalsOk,
        detail: {
          kafka: kafkaOk,
          approvals: approvals ? approvalsOk : 'off',
          policyRevision: policy.revision,
          bufferedEvents: stats.bufferedEvents,
        },
      };
    },
  });

  return {
    postgresPort,
    sshPort,
    healthPort: health.port,
    publisher,
    async stop(drainMs = 10_000) {
      const sshDrained = ssh ? ssh.stopAccepting().then(() => ssh.drain(drainMs)) : undefined;
      await pg?.stopAccepting();
      await pg?.drain(drainMs);
      await sshDrained;
      await approvals?.stop();
      refusals.stop();
      const result = await publisher.close();
      await health.close();
      return result;
    },
  };
}
