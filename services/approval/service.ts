import type { AddressInfo } from 'node:net';
import { topicSpecs } from '../shared/config/kafka-config.js';
import { resolveSecret } from '../shared/config/secrets.js';
import { tokenVerifierOptions } from '../shared/config/sections.js';
import { decodeEvent } from '../shared/events/codec.js';
import { createTokenVerifier } from '../shared/identity/token-verifier.js';
import { logError } from '../shared/log-error.js';
import { createKafka } from '../shared/log/kafka.js';
import { kafkaSecurity } from '../shared/log/kafka-security.js';
import type { EventLog } from '../shared/log/event-log.js';
import { KafkaEventLog } from '../shared/log/kafka-event-log.js';
import { createLogger } from '../shared/logger.js';
import type { Logger } from '../shared/logger.js';
import { loadSigningKey, loadTrustedKeys, publicKeyText } from '../shared/signing/signing-keys.js';
import { startHealthServer } from '../shared/runtime/health-server.js';
import type { StartableService } from '../shared/runtime/run-service.js';
import type { ApprovalConfig } from './config.js';
import { ApprovalStartError } from './errors.js';
import { closeGrpc, buildGrpcApi, listenGrpc } from './grpc/grpc-server.js';
import { buildHttpApi } from './http/http-api.js';
import { StreamRegistry } from './http/stream-registry.js';
import { microsNow } from './log/approval-events.js';
import { createApprovalMetrics } from './metrics.js';
import { NotifyConsumer } from './notify/notify-consumer.js';
import { WebhookNotifier } from './notify/webhook-notifier.js';
import { DecisionSweeper } from './review/decision-sweeper.js';
import { RequestRelay } from './relay/request-relay.js';
import { ReviewDesk } from './review/review-desk.js';
import { ApprovalStore } from './store/approval-store.js';

export type RunningApprovalService = {
  readonly instanceId: string;
  /** Base URL of the HTTP API and web page (as listening, not `publicUrl`). */
  readonly url: string;
  readonly httpPort: number;
  /** `host:port` of the gRPC API. */
  readonly grpcAddress: string;
  readonly healthPort: number;
  /** Resolves once the approval log was read to its end (the APIs answer 503 before) and the request relay joined its group. */
  readonly ready: Promise<void>;
  isReady(): boolean;
  /** Resolves once the notification consumer joined its group (immediately when no webhooks are configured). */
  readonly notifyJoined: Promise<void>;
  readonly store: ApprovalStore;
  /** Drains: stop accepting, end streams, let calls finish within `timeoutMs`, flush the publisher, leave the log. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /** Stops at once without draining anything (tests simulate a crash with it). */
  abort(): Promise<void>;
};

const PRUNE_INTERVAL_MS = 10 * 60_000;

/** The parts of an approval service a caller may inject; each defaults to the real one built from the config. */
export type ApprovalDeps = {
  /** Default: a pino logger at `logLevel` on stdout. */
  logger?: Logger;
  /** The event log. Default: Kafka, from the `kafka` section; `npm start` injects the embedded log. */
  eventLog?: EventLog;
};

/**
 * One approval-service instance wired from a validated configuration (an app factory kept apart from the CLI, which
 * runs it with runService); `start()` reads the log, listens, and resolves with the running instance.
 */
export function buildApproval(
  config: ApprovalConfig,
  deps: ApprovalDeps = {},
): StartableService<RunningApprovalService> {
  const logger =
    deps.logger ?? createLogger({ service: 'approval', nodeId: config.instanceId, level: config.logLevel });
  return { start: () => start(config, logger, deps) };
}

/** Builds and starts an approval-service instance (`buildApproval(config, { logger }).start()`). */
export function startApprovalService(
  config: ApprovalConfig,
  logger: Logger,
): Promise<RunningApprovalService> {
  return buildApproval(config, { logger }).start();
}

async function start(
  config: ApprovalConfig,
  baseLog: Logger,
  deps: ApprovalDeps,
): Promise<RunningApprovalService> {
  const log = baseLog.child({ instance: config.instanceId });
  const topic = config.kafka.topics.approvals;
  const eventLog =
    deps.eventLog ??
    new KafkaEventLog(
      createKafka({
        brokers: config.kafka.brokers,
        clientId: `${config.kafka.clientId}-approval-${config.instanceId}`,
        security: kafkaSecurity(config.kafka),
        logger: log,
      }),
    );
  const t = config.kafka.topics;
  if (t.provision) {
    await eventLog.ensureTopics(topicSpecs(t, [topic, t.approvalRequests]));
  }
  const targets = config.webhooks.map((w) => ({
    group: w.group,
    url: typeof w.url === 'string' ? w.url : resolveSecret(w.url),
  }));
  for (const target of targets) {
    if (!/^https?:$/.test(URL.parse(target.url)?.protocol ?? '')) {
      throw new ApprovalStartError(`webhook for group ${target.group} is not an http(s) URL`);
    }
  }

  let signingKey;
  let trustedKeys;
  try {
    signingKey = loadSigningKey(config.signing.keyId, resolveSecret(config.signing.privateKey));
    trustedKeys = loadTrustedKeys({
      ...config.signing.trustedKeys,
      [signingKey.keyId]: publicKeyText(signingKey),
    });
  } catch (err) {
    throw new ApprovalStartError(`signing key: ${(err as Error).message}`, { cause: err });
  }

  const metrics = createApprovalMetrics();
  const publisher = eventLog.createPublisher(log, config.kafka.publisher);
  publisher.start();
  const verifier = createTokenVerifier(tokenVerifierOptions(config.oidc));
  const L = config.limits;
  const store = new ApprovalStore({
    log,
    maxApprovals: L.maxApprovals,
    maxHistory: L.maxHistory,
    maxWaiters: L.maxWaiters,
    trustedKeys,
  });
  const tail = eventLog.createReader({
    log,
    topic,
    groupIdPrefix: `gatehouse-approval-${config.instanceId}`,
  });
  let caughtUp = false;
  const desk = new ReviewDesk({
    store,
    publisher,
    topic,
    instanceId: config.instanceId,
    signingKey,
    verifier,
    log,
    metrics,
    isReady: () => caughtUp,
    foldWaitMs: L.foldWaitMs,
    maxReasonLength: L.maxReasonLength,
    maxList: L.maxList,
  });
  const sweeper = new DecisionSweeper({
    store,
    desk,
    log,
    intervalMs: L.sweepIntervalMs,
    graceMs: L.decideGraceMs,
    delayMs: Math.floor(Math.random() * (L.expiryJitterMs + 1)),
    retryMs: Math.max(L.foldWaitMs, 5_000),
  });
  const streams = new StreamRegistry(L.maxStreams, metrics);

  let publicUrl = config.publicUrl?.replace(/\/+$/, '') ?? '';
  const getPublicUrl = (): string => publicUrl;

  const cleanups: (() => Promise<unknown>)[] = [];
  const onFailure = async (cause: unknown, what: string): Promise<never> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw new ApprovalStartError(`${what}: ${(cause as Error).message}`, { cause });
  };
  cleanups.push(() => publisher.close(1_000));

  await tail
    .start((r) => {
      let event;
      try {
        event = decodeEvent(r.value);
      } catch (err) {
        metrics.folded.inc({ kind: 'undecodable' });
        logError(log, err, 'undecodable approval event skipped', {
          level: 'warn',
          partition: r.partition,
          offset: r.offset,
        });
        return;
      }
      const result = store.apply(event);
      metrics.folded.inc({ kind: result.kind });
      if (
        (result.kind === 'reviewed' || result.kind === 'decided' || result.kind === 'requested') &&
        result.entry.ignored
      ) {
        metrics.ignored.inc({ kind: result.kind });
        if (result.kind === 'decided' && result.entry.outcome !== '') {
          // A decision that did not count: a race lost (harmless) or a forged/unsigned one (a security matter).
          log.warn(
            {
              approval: result.record.request.id,
              event: event.eventId,
              claimedNode: event.nodeId.slice(0, 200),
              why: result.entry.ignored,
            },
            'approval decision ignored',
          );
        }
      }
    })
    .catch((err: unknown) => onFailure(err, 'cannot read the approvals topic'));
  cleanups.push(() => tail.stop());
  const caughtUpReady = tail.caughtUp.then(() => {
    caughtUp = true;
    metrics.caughtUp.set(1);
    sweeper.start();
  });

  const http = buildHttpApi({
    desk,
    store,
    streams,
    metrics,
    log,
    publicUrl: getPublicUrl,
    tls: config.http.tls,
    web: config.web ? { config: config.web, issuer: config.oidc.issuer } : undefined,
  });
  let httpPort: number;
  try {
    await http.listen({ host: config.http.host, port: config.http.port });
    httpPort = (http.server.address() as AddressInfo).port;
  } catch (err) {
    return onFailure(err, `cannot listen on ${config.http.host}:${config.http.port}`);
  }
  cleanups.push(() => http.close());
  const scheme = config.http.tls ? 'https' : 'http';
  const hostForUrl = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `${scheme}://${hostForUrl}:${httpPort}`;
  if (publicUrl === '') publicUrl = url;

  const grpc = buildGrpcApi({ desk, store, streams, log, publicUrl: getPublicUrl });
  let grpcPort: number;
  try {
    grpcPort = await listenGrpc(grpc, config.grpc.host, config.grpc.port, config.grpc.tls);
  } catch (err) {
    return onFailure(err, `cannot listen on ${config.grpc.host}:${config.grpc.port} (gRPC)`);
  }
  cleanups.push(() => closeGrpc(grpc, 1_000));

  const notifier = new WebhookNotifier({
    log: log.child({ component: 'webhooks' }),
    metrics,
    ...config.notify,
  });
  let notify: NotifyConsumer | undefined;
  let notifyJoined = Promise.resolve();
  if (targets.length > 0) {
    notify = new NotifyConsumer({
      eventLog,
      log,
      topic,
      groupId: config.notify.groupId,
      store,
      notifier,
      targets,
      publicUrl: getPublicUrl,
      foldWaitMs: config.notify.foldWaitMs,
    });
    notifyJoined = notify.joined;
    const n = notify;
    void n.start().catch((err: unknown) => logError(log, err, 'notification consumer failed'));
  }

  const relay = new RequestRelay({
    eventLog,
    log,
    publisher,
    metrics,
    from: t.approvalRequests,
    to: topic,
    groupId: config.relay.groupId,
  });
  // Ready once the log was read and the relay is a member of its group (its rebalance is over).
  const ready = Promise.all([caughtUpReady, relay.joined]).then(() => undefined);
  void relay.start().catch((err: unknown) => logError(log, err, 'approval request relay failed'));

  const gauges = setInterval(() => {
    metrics.pending.set(store.pendingCount());
    metrics.held.set(store.size);
    metrics.lag.set(tail.lag);
  }, 5_000);
  gauges.unref();
  const prune = setInterval(() => {
    const before = microsNow() - BigInt(Math.round(L.retainDecidedHours * 3_600_000_000));
    const n = store.pruneDecidedBefore(before);
    if (n > 0) log.info({ forgotten: n }, 'forgot old decided approvals (memory only)');
  }, PRUNE_INTERVAL_MS);
  prune.unref();

  let health: Awaited<ReturnType<typeof startHealthServer>>;
  try {
    health = await startHealthServer({
      host: config.health.host,
      port: config.health.port,
      registry: metrics.registry,
      readiness: () => {
        const stats = publisher.stats();
        const fetching = tail.sinceLastFetchMs < 30_000;
        const kafkaOk = stats.unavailableForMs === 0 && fetching;
        return {
          ready: caughtUp && kafkaOk,
          detail: { caughtUp, kafka: kafkaOk, approvals: store.size, bufferedEvents: stats.bufferedEvents },
        };
      },
    });
  } catch (err) {
    return onFailure(err, `cannot listen on ${config.health.host}:${config.health.port} (health)`);
  }
  log.info({ http: url, grpcPort, healthPort: health.port, topic }, 'approval service listening');

  let stopped = false;
  const stopTimers = (): void => {
    sweeper.stop();
    clearInterval(gauges);
    clearInterval(prune);
  };

  return {
    instanceId: config.instanceId,
    url,
    httpPort,
    grpcAddress: `${config.grpc.host.includes(':') ? `[${config.grpc.host}]` : config.grpc.host}:${grpcPort}`,
    healthPort: health.port,
    ready,
    isReady: () => caughtUp,
    notifyJoined,
    store,
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      const timeoutMs = opts.timeoutMs ?? config.shutdown.drainTimeoutMs;
      stopTimers();
      streams.closeAll();
      await Promise.all([http.close(), closeGrpc(grpc, timeoutMs)]);
      await notify?.stop().catch(() => undefined);
      await relay.stop().catch(() => undefined);
      await notifier.close(Math.min(timeoutMs, 5_000));
      const { unflushed } = await publisher.close(timeoutMs);
      if (unflushed > 0) log.error({ unflushed }, 'approval events not acknowledged by Kafka at shutdown');
      await tail.stop();
      store.close();
      await health.close();
      log.info('approval service stopped');
    },
    async abort() {
      if (stopped) return;
      stopped = true;
      stopTimers();
      http.server.closeAllConnections();
      grpc.forceShutdown();
      void http.close();
      await Promise.all([
        notify?.stop().catch(() => undefined),
        relay.stop().catch(() => undefined),
        notifier.close(0),
        publisher.close(0),
        tail.stop(),
        health.close(),
      ]);
      store.close();
    },
  };
}
