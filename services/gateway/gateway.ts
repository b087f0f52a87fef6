import { setTimeout as sleep } from 'node:timers/promises';
import { topicSpecs } from '../shared/config/kafka-config.js';
import { resolveSecret } from '../shared/config/secrets.js';
import { tokenVerifierOptions } from '../shared/config/sections.js';
import { createTokenVerifier } from '../shared/identity/index.js';
import { createKafka } from '../shared/log/kafka.js';
import { kafkaSecurity } from '../shared/log/kafka-security.js';
import type { EventLog, LogPublisher } from '../shared/log/event-log.js';
import { KafkaEventLog } from '../shared/log/kafka-event-log.js';
import { createLogger } from '../shared/logger.js';
import type { Logger } from '../shared/logger.js';
import { startHealthServer } from '../shared/runtime/health-server.js';
import type { StartableService } from '../shared/runtime/run-service.js';
import { loadTrustedKeys } from '../shared/signing/signing-keys.js';
import { ApprovalWaiter } from './approvals/approval-waiter.js';
import type { GatewayConfig } from './config.js';
import type { GatewayDeps } from './gateway-deps.js';
import { buildPgListener, buildSshListener, postgresConnections } from './gateway-listeners.js';
import { LoginRefusals } from './login-audit/index.js';
import { buildHttpListener } from './http/start-http.js';
import { buildMcpListener } from './mcp/start-mcp.js';
import { DecisionMemo, memoisedPolicy } from './pipeline/index.js';
import { createGatewayMetrics } from './metrics.js';
import type { GatewayMetrics } from './metrics.js';
import type { PolicyEngine } from './policy/index.js';
import { createPolicyRuntime } from './policy/policy-runtime.js';
import type { PolicyRuntime } from './policy/policy-runtime.js';
import { loadSqlParser } from './sql/index.js';

export type { GatewayDeps } from './gateway-deps.js';

export type RunningGateway = {
  postgresPort: number | undefined;
  sshPort: number | undefined;
  /** The MCP listener's port and public origin (endpoints: `<origin>/mcp/<connection>`). */
  mcp: { port: number; origin: string } | undefined;
  /** The HTTP reverse proxy's port (endpoints: `<origin>/<connection>/<path>`). */
  httpPort: number | undefined;
  healthPort: number;
  publisher: LogPublisher;
  /** The node's policy: active revision, refusals (policy/policy-runtime.ts). */
  policy: PolicyRuntime;
  /** Stop accepting, let sessions finish within `drainMs` (default `shutdown.drainTimeoutMs`), flush the audit log. */
  stop(drainMs?: number): Promise<{ unflushed: number }>;
};

export type Gateway = StartableService<RunningGateway>;

function buildApprovalWaiter(
  config: GatewayConfig,
  parts: {
    eventLog: EventLog;
    publisher: LogPublisher;
    log: Logger;
    metrics: GatewayMetrics;
    now: () => number;
  },
): ApprovalWaiter | undefined {
  const a = config.approvals;
  if (!a) return undefined;
  const { log, metrics } = parts;
  return new ApprovalWaiter({
    eventLog: parts.eventLog,
    publisher: parts.publisher,
    log,
    topic: config.kafka.topics.approvals,
    requestTopic: config.kafka.topics.approvalRequests,
    nodeId: config.nodeId,
    approvalUrl: a.url,
    maxPending: a.maxPending,
    maxGrants: a.maxGrants,
    maxDecidedIds: a.maxDecidedIds,
    maxRefusalsPerRequest: a.maxRefusalsPerRequest,
    logTimeoutMs: a.logTimeoutMs,
    maxRequestTextLength: a.maxRequestTextLength,
    startTimeoutMs: a.startTimeoutMs,
    holdRenewMs: a.holdRenewMs,
    holdLeaseMs: a.holdLeaseMs,
    trustedKeys: loadTrustedKeys(
      Object.fromEntries(
        Object.entries(a.trustedKeys).map(([kid, k]) => [kid, typeof k === 'string' ? k : resolveSecret(k)]),
      ),
    ),
    onRefusedDecision: (s) => metrics.refusedDecisions.inc({ code: s.code }),
    onOrphanDecision: (o) =>
      log.info(
        { approval: o.approvalId, outcome: o.decided.outcome },
        'decision for a request whose client is gone',
      ),
    now: parts.now,
  });
}

/**
 * Wires one gateway node from a validated configuration, with `deps` injected (tests, benchmarks) or built: nothing
 * connects or listens until `start()` (an app factory kept apart from the CLI, which runs it with runService).
 */
export function buildGateway(config: GatewayConfig, deps: GatewayDeps = {}): Gateway {
  const log =
    deps.logger ?? createLogger({ service: 'gateway', nodeId: config.nodeId, level: config.logLevel });
  const now = deps.clock ?? Date.now;
  const eventLog =
    deps.eventLog ??
    new KafkaEventLog(
      createKafka({
        brokers: config.kafka.brokers,
        clientId: `${config.kafka.clientId}-gateway`,
        security: kafkaSecurity(config.kafka),
        logger: log,
      }),
    );
  const t = config.kafka.topics;
  const publisher = eventLog.createPublisher(log, config.kafka.publisher);
  const metrics = createGatewayMetrics(() => publisher);
  const approvals = buildApprovalWaiter(config, { eventLog, publisher, log, metrics, now });
  const verifier = createTokenVerifier(tokenVerifierOptions(config.oidc));
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
    ...(deps.clock ? { now: deps.clock } : {}),
  });
  const policy = createPolicyRuntime({
    config: config.policy,
    nodeId: config.nodeId,
    kafka: eventLog instanceof KafkaEventLog ? eventLog.kafka : undefined,
    log,
    registry: metrics.registry,
    ...(deps.policy ? { injected: deps.policy } : {}),
    replicationFactor: t.replicationFactor,
    minInsyncReplicas: t.minInsyncReplicas,
  });
  const currentPolicy = (): PolicyEngine => policy.current();
  const pgConnections = postgresConnections(config, log);
  const parts = {
    config,
    log,
    verifier,
    publisher: deps.sessionPublisher ? deps.sessionPublisher(publisher) : publisher,
    auditBacklog: () => publisher.stats().bufferedBytes,
    policy: memoisedPolicy(currentPolicy, new DecisionMemo(config.decisionMemo, metrics.recordMemo)),
    approvals: deps.approvals ?? approvals,
    refusals,
    metrics,
    deps,
    now,
  };
  const pg = buildPgListener(parts, pgConnections);
  const ssh = buildSshListener(parts);
  const mcp = buildMcpListener(parts);
  const http = buildHttpListener(parts);

  async function start(): Promise<RunningGateway> {
    if (t.provision) {
      await eventLog.ensureTopics(topicSpecs(t, [t.sessions, t.approvals, t.approvalRequests]));
    }
    publisher.start();
    await approvals?.start();
    await policy.start();
    if (pg || pgConnections.connections.size > 0) await loadSqlParser();
    refusals.start();
    // Until a catalog is loaded every relation is unknown, hence masked whole: load them before listening.
    for (const catalog of pgConnections.catalogs.values()) await catalog.refresh();

    const postgresPort = await pg?.listen();
    if (pg)
      log.info(
        { port: postgresPort, tls: config.listeners.postgres?.tls !== undefined },
        'postgres listener ready',
      );
    const sshPort = await ssh?.listen();
    if (ssh) log.info({ port: sshPort }, 'ssh listener ready');
    const mcpPort = await mcp?.listen();
    if (mcp) log.info({ port: mcpPort, origin: mcp.origin }, 'mcp listener ready');
    const httpPort = await http?.listen();
    if (http)
      log.info({ port: httpPort, tls: config.listeners.http?.tls !== undefined }, 'http listener ready');

    let draining = false;
    const health = await startHealthServer({
      host: config.health.host,
      port: config.health.port,
      registry: metrics.registry,
      readiness: () => {
        const stats = publisher.stats();
        const kafkaOk = publisher.connected && stats.unavailableForMs === 0;
        const approvalsOk = approvals ? approvals.isHealthy() : true;
        return {
          ready: kafkaOk && approvalsOk && !draining,
          detail: {
            ...(draining ? { draining: true } : {}),
            kafka: kafkaOk,
            approvals: approvals ? approvalsOk : 'off',
            policyRevision: policy.status().revision,
            policyRefused: policy.status().refusedTotal,
            bufferedEvents: stats.bufferedEvents,
          },
        };
      },
    });

    return {
      postgresPort,
      sshPort,
      mcp: mcp && mcpPort !== undefined ? { port: mcpPort, origin: mcp.origin } : undefined,
      httpPort,
      healthPort: health.port,
      publisher,
      policy,
      async stop(drainMs = config.shutdown.drainTimeoutMs) {
        // Out of the balancer's rotation first (`/readyz` 503), then stop accepting and let sessions finish.
        draining = true;
        if (config.unreadyBeforeDrainMs > 0) {
          log.info({ unreadyBeforeDrainMs: config.unreadyBeforeDrainMs }, 'not ready: draining soon');
          await sleep(config.unreadyBeforeDrainMs);
        }
        // stopAccepting() closes the listening socket at once but settles only when the last connection ended (net
        // Server.close), so the drain bound runs beside it, not after it.
        const closed = Promise.all([pg?.stopAccepting(), ssh?.stopAccepting()]);
        await Promise.all([pg?.drain(drainMs), ssh?.drain(drainMs)]);
        await closed;
        await mcp?.stop(drainMs);
        await http?.stop(drainMs);
        await approvals?.stop();
        await policy.stop();
        refusals.stop();
        const result = await publisher.close();
        await health.close();
        return result;
      },
    };
  }
  return { start };
}
