import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { topicSpecs } from '../shared/config/kafka-config.js';
import { resolveSecret } from '../shared/config/secrets.js';
import { tokenVerifierOptions } from '../shared/config/sections.js';
import type { BatchHandler } from '../shared/log/consumer.js';
import type { EventLog } from '../shared/log/event-log.js';
import { KafkaEventLog } from '../shared/log/kafka-event-log.js';
import { createKafka } from '../shared/log/kafka.js';
import { kafkaSecurity } from '../shared/log/kafka-security.js';
import { createLogger } from '../shared/logger.js';
import type { Logger } from '../shared/logger.js';
import { startHealthServer } from '../shared/runtime/health-server.js';
import type { StartableService } from '../shared/runtime/run-service.js';
import { connectClickHouse, ensureDatabase } from './clickhouse/client.js';
import type { ClickHouseOptions } from './clickhouse/client.js';
import { applyMigrations, defaultMigrationsDir, loadMigrations } from './clickhouse/migrations.js';
import type { RecorderConfig } from './config.js';
import { Batcher } from './ingest/batcher.js';
import { BatchWriter } from './ingest/batch-writer.js';
import type { PreparedBatch } from './ingest/batch-writer.js';
import { decodeEach } from './ingest/decode-records.js';
import { StatementCache } from './ingest/statement-cache.js';
import { waitWithHeartbeat } from './ingest/wait-with-heartbeat.js';
import { createRecorderMetrics } from './metrics.js';
import type { RecorderMetrics } from './metrics.js';
import { buildReplayApi } from './replay/http-api.js';
import { createTokenVerifier } from '../shared/identity/index.js';
import { logError } from '../shared/log-error.js';
import { clickHouseStore } from './store/recording-store.js';
import type { RecordingStore } from './store/recording-store.js';
import type { ReplayStore } from './store/session-queries.js';

export type Recorder = {
  /** Port of the replay API. */
  readonly httpPort: number;
  /** Port of /healthz, /readyz, /metrics. */
  readonly healthPort: number;
  readonly metrics: RecorderMetrics;
  readonly queries: ReplayStore;
  /**
   * Drains: stops consuming, finishes the write in progress, commits, closes. After `timeoutMs` (default
   * `shutdown.drainTimeoutMs`) a
   * write that still fails is abandoned uncommitted (its records are redelivered to the next recorder).
   */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /** Settles when the recorder stopped: resolves after `stop()`, rejects on a fatal consumer error. */
  readonly done: Promise<void>;
};

const HEARTBEAT_MS = 1000;
const PROVISION_ATTEMPTS = 5;
const PING_MS = 5000;

export function clickHouseOptions(config: RecorderConfig): ClickHouseOptions {
  const c = config.clickhouse;
  return {
    url: c.url,
    database: c.database,
    username: c.user,
    password: c.password === undefined ? '' : resolveSecret(c.password),
    requestTimeoutMs: c.requestTimeoutMs,
  };
}

/** Options of the schema user (`clickhouse.ddl`), or undefined when `clickhouse.user` does schema changes too. */
export function clickHouseDdlOptions(config: RecorderConfig): ClickHouseOptions | undefined {
  const ddl = config.clickhouse.ddl;
  if (!ddl) return undefined;
  return {
    ...clickHouseOptions(config),
    username: ddl.user,
    password: ddl.password === undefined ? '' : resolveSecret(ddl.password),
  };
}

/** The data client, and the schema client (the same one unless `clickhouse.ddl` names another user). */
async function prepareClickHouse(config: RecorderConfig, log: Logger): Promise<RecordingStore> {
  const opts = clickHouseOptions(config);
  const ddlOpts = clickHouseDdlOptions(config);
  if (config.clickhouse.migrate) await ensureDatabase(ddlOpts ?? opts);
  const ch = connectClickHouse(opts);
  const ddl = ddlOpts ? connectClickHouse(ddlOpts) : ch;
  try {
    if (config.clickhouse.migrate) {
      const dir = config.clickhouse.migrationsDir ?? defaultMigrationsDir();
      await applyMigrations(ddl, loadMigrations(dir), log);
    }
  } catch (err) {
    await ch.close();
    if (ddl !== ch) await ddl.close();
    throw err;
  }
  return clickHouseStore(ch, ddl, config.clickhouse.database);
}

async function provisionTopics(eventLog: EventLog, config: RecorderConfig): Promise<void> {
  const t = config.kafka.topics;
  if (!t.provision) return;
  // Right after CreateTopics the leader wait can fail while metadata propagates; a second pass finds the topics.
  for (let attempt = 1; ; attempt++) {
    try {
      await eventLog.ensureTopics(topicSpecs(t, [t.sessions, t.approvals]));
      return;
    } catch (err) {
      if (attempt >= PROVISION_ATTEMPTS) throw err;
      await sleep(1000);
    }
  }
}

/** The parts of a recorder a caller may inject; each defaults to the real one built from the configuration. */
export type RecorderDeps = {
  /** Default: a pino logger at `logLevel` on stdout. */
  logger?: Logger;
  /** The event log read from. Default: Kafka, from the `kafka` section; `npm start` injects the embedded log. */
  eventLog?: EventLog;
  /**
   * Where recordings are written and read. Default: ClickHouse, from the `clickhouse` section (migrated at start);
   * `npm start` injects an embedded DuckDB store, which the recorder then owns (closes it on stop).
   */
  store?: RecordingStore;
};

/**
 * A recorder wired from a validated configuration; `start()` brings up the ClickHouse schema, the Kafka consumer
 * (group `config.groupId`), batch writer, retention job, replay API and health server, and resolves once consuming
 * has started. The CLI runs it with runService; tests call `start()` themselves.
 */
export function buildRecorder(config: RecorderConfig, deps: RecorderDeps = {}): StartableService<Recorder> {
  const logger =
    deps.logger ?? createLogger({ service: 'recorder', nodeId: config.nodeId, level: config.logLevel });
  return { start: () => start(config, logger, deps) };
}

/** Builds and starts a recorder (`buildRecorder(config, { logger }).start()`). */
export function startRecorder(config: RecorderConfig, logger: Logger): Promise<Recorder> {
  return buildRecorder(config, { logger }).start();
}

async function start(config: RecorderConfig, logger: Logger, deps: RecorderDeps): Promise<Recorder> {
  const log = logger.child({ component: 'recorder' });
  const security = kafkaSecurity(config.kafka); // before any connection: a missing secret fails at once
  const store = deps.store ?? (await prepareClickHouse(config, log));
  const metrics = createRecorderMetrics();
  const queries = store.queries;
  const batchWriter = new BatchWriter({
    writer: store.writer,
    cache: new StatementCache(config.statementCacheSize),
    maxRows: config.batch.maxRows,
    metrics,
    log,
  });
  // Readiness: ClickHouse answers pings and no write is stuck retrying.
  let clickhouseOk = true;
  let writeFailing = false;
  const batcher = new Batcher<PreparedBatch>(
    config.batch,
    async (batches) => {
      await batchWriter.write(batches);
      writeFailing = false;
      metrics.pendingRows.set(batcher.pending);
    },
    {
      onRetry: (err, attempt, delayMs) => {
        writeFailing = true;
        metrics.insertFailures.inc();
        logError(log, err, 'write to ClickHouse failed; retrying', { level: 'warn', attempt, delayMs });
      },
    },
  );

  const eventLog =
    deps.eventLog ??
    new KafkaEventLog(
      createKafka({
        brokers: config.kafka.brokers,
        clientId: `${config.kafka.clientId}-recorder-${config.nodeId}`,
        security,
        logger: log,
      }),
    );
  try {
    await provisionTopics(eventLog, config);
  } catch (err) {
    await store.close();
    throw err;
  }
  const consumer = eventLog.createConsumer(log, {
    groupId: config.groupId,
    topics: [config.kafka.topics.sessions, config.kafka.topics.approvals],
    fromBeginning: config.consumer.fromBeginning,
    partitionsConsumedConcurrently: config.consumer.partitionsConcurrently,
    sessionTimeoutMs: config.consumer.sessionTimeoutMs,
    maxBytesPerPartition: config.consumer.maxBytesPerPartition,
    minBytes: config.consumer.fetchMinBytes,
    maxWaitTimeMs: config.consumer.fetchMaxWaitMs,
  });

  let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined); // callers that await `done` still see the rejection; nobody awaiting is not a crash
  let joined = false;
  consumer.listen({
    joined: () => {
      joined = true;
      store.writer.forgetSessions?.();
    },
    batchDone: (topic, partition, lag) =>
      metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
    crashed: (error, restarting) => {
      joined = false;
      if (!restarting) {
        logError(log, error, 'consumer crashed', { level: 'fatal' });
        settle?.reject(error);
      }
    },
  });

  const handler: BatchHandler = async (records, ctx) => {
    const first = records[0];
    if (first) metrics.consumed.inc({ topic: first.topic }, records.length);
    const prepared = batchWriter.prepare(decodeEach(records));
    for (const d of prepared.dead) {
      metrics.deadLetters.inc({ topic: d.topic });
      log.error(
        { topic: d.topic, partition: d.partition, offset: d.offset, errorCode: d.errorCode, error: d.error },
        'undecodable record; writing it to dead_letters',
      );
    }
    const written = batcher.add([prepared], prepared.size);
    metrics.pendingRows.set(batcher.pending);
    await waitWithHeartbeat(written, () => ctx.heartbeat(), HEARTBEAT_MS);
  };

  const retention = async (): Promise<void> => {
    try {
      const dropped = await store.dropExpired(config.retentionDays, log);
      for (const d of dropped) metrics.partitionsDropped.inc({ table: d.table });
    } catch (err) {
      logError(log, err, 'retention job failed; retrying at the next interval');
    }
  };
  const retentionTimer = setInterval(() => void retention(), config.retentionCheckIntervalMs).unref();
  void retention();
  const pingTimer = setInterval(() => {
    void store.ping().then((ok) => (clickhouseOk = ok));
  }, PING_MS).unref();

  let api: FastifyInstance | undefined;
  let health: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  try {
    health = await startHealthServer({
      host: config.health.host,
      port: config.health.port,
      registry: metrics.registry,
      readiness: () => ({
        ready: clickhouseOk && !writeFailing && joined,
        detail: { clickhouse: clickhouseOk && !writeFailing, kafka: joined },
      }),
    });
    const verifier = createTokenVerifier(tokenVerifierOptions(config.api.oidc));
    const listening: { url?: string } = {};
    api = buildReplayApi({
      queries,
      log,
      auth: {
        verify: (token) => verifier.verify(token),
        allowedGroups: config.api.allowedGroups,
        web: config.api.web
          ? {
              config: config.api.web,
              issuer: config.api.oidc.issuer,
              publicUrl: () => listening.url ?? `http://${config.http.host}:${config.http.port}`,
            }
          : undefined,
      },
    });
    listening.url = await api.listen({ host: config.http.host, port: config.http.port });
    await consumer.start(handler);
  } catch (err) {
    clearInterval(retentionTimer);
    clearInterval(pingTimer);
    await api?.close();
    await health?.close();
    await consumer.stop().catch(() => undefined);
    await store.close();
    throw err;
  }
  const address = api.server.address();
  const httpPort = typeof address === 'object' && address !== null ? address.port : config.http.port;
  log.info({ httpPort, healthPort: health.port, groupId: config.groupId }, 'recorder started');

  let stopping: Promise<void> | undefined;
  const stop = (opts: { timeoutMs?: number } = {}): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(retentionTimer);
      clearInterval(pingTimer);
      batcher.drain();
      const abort = setTimeout(
        () => void batcher.close({ abort: true }),
        opts.timeoutMs ?? config.shutdown.drainTimeoutMs,
      );
      try {
        await consumer.stop();
        await batcher.close({ abort: true });
      } finally {
        clearTimeout(abort);
        await api.close();
        await health.close();
        await store.close();
      }
      log.info('recorder stopped');
      settle?.resolve();
    })());

  return { httpPort, healthPort: health.port, metrics, queries, stop, done };
}
