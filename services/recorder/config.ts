import { z } from 'zod';
import { kafkaConfigSchema } from '../shared/config/kafka-config.js';
import { loadConfigFile, parseConfig } from '../shared/config/load-config.js';
import { secretRefSchema } from '../shared/config/secrets.js';
import {
  healthSchema,
  listenSchema,
  logLevelSchema,
  nodeIdSchema,
  oidcSchema,
  shutdownSchema,
} from '../shared/config/sections.js';
import { webLoginSchema } from '../shared/web-login/index.js';

/**
 * `gatehouse recorder --config FILE` (YAML). Every default is here; see services/recorder/README.md.
 */
export const recorderConfigSchema = z.strictObject({
  /** Names this instance in logs and as the Kafka client id suffix. */
  nodeId: nodeIdSchema,
  logLevel: logLevelSchema,
  /** Consumer group shared by all recorder instances (they split the partitions). */
  groupId: z.string().min(1).default('gatehouse-recorder'),
  kafka: kafkaConfigSchema,
  consumer: z
    .strictObject({
      /** Partition batches handled at once (their rows are written together). */
      partitionsConcurrently: z.number().int().min(1).max(64).default(4),
      /** Most bytes fetched per partition per batch. */
      maxBytesPerPartition: z
        .number()
        .int()
        .min(1024)
        .default(4 * 1024 * 1024),
      sessionTimeoutMs: z.number().int().min(3000).default(30_000),
      /**
       * A fetch is answered once this many bytes are waiting or after `fetchMaxWaitMs`: the recorder's fetches then
       * do not wake the brokers on every produce when the load is light, and bring bigger batches.
       */
      fetchMinBytes: z.number().int().min(1).default(1),
      /** Longest a fetch waits for `fetchMinBytes` (also how late a rebalance is noticed). */
      fetchMaxWaitMs: z.number().int().min(10).max(30_000).default(5000),
      /** Where a new group starts. */
      fromBeginning: z.boolean().default(true),
    })
    .prefault({}),
  clickhouse: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    /** Database for the recorder's tables (created when missing). */
    database: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _ only')
      .default('gatehouse'),
    user: z.string().min(1).default('default'),
    password: secretRefSchema.optional(),
    requestTimeoutMs: z.number().int().min(100).default(30_000),
    /**
     * The user for schema changes: CREATE DATABASE, migrations and retention's DROP PARTITION. Absent: `user`.
     * Lets `user` be one that may only INSERT and SELECT (see deploy/stack/clickhouse.sh).
     */
    ddl: z.strictObject({ user: z.string().min(1), password: secretRefSchema.optional() }).optional(),
    /** Apply deploy/clickhouse/migrations at start. */
    migrate: z.boolean().default(true),
    /** Where the migration files are (default: the ones shipped with the recorder). */
    migrationsDir: z.string().min(1).optional(),
  }),
  batch: z
    .strictObject({
      /** Most rows per INSERT, and the pending-row count that triggers a write. */
      maxRows: z.number().int().min(1).max(1_000_000).default(20_000),
      /**
       * Longest time a consumed event waits before it is written. ClickHouse's CPU goes mostly to each INSERT (a
       * new part per table, materialized views included), hardly to its rows: fewer, larger writes cost it far less;
       * but the recorder holds the decoded events meanwhile (longer waits cost it more garbage collection).
       */
      maxDelayMs: z.number().int().min(0).max(60_000).default(1000),
      /** Backoff between retries of a failed write (doubling from min to max). */
      retryMinMs: z.number().int().min(1).default(200),
      retryMaxMs: z.number().int().min(1).default(30_000),
    })
    .refine((b) => b.retryMinMs <= b.retryMaxMs, {
      message: 'retryMinMs must not exceed retryMaxMs',
      path: ['retryMinMs'],
    })
    .prefault({}),
  /** Replay API (`GET /v1/sessions` …). */
  http: listenSchema(8610).prefault({}),
  /**
   * Who may read the recordings (required: nobody reads the audit without identity). API calls carry an OIDC access
   * token (`Authorization: Bearer …`) from `oidc.issuer` for `oidc.audience`; web pages log in with the
   * authorization-code flow (PKCE) when `web` is set. Either way the identity must be in one of `allowedGroups`.
   */
  api: z.strictObject({
    oidc: oidcSchema,
    allowedGroups: z.array(z.string().min(1)).min(1).default(['soc']),
    /** Web login for the player pages; without it the pages answer 401 (API tokens only). */
    web: webLoginSchema.optional(),
  }),
  /** /healthz, /readyz, /metrics. */
  health: healthSchema(9610),
  /**
   * SIGTERM: the write in progress gets `drainTimeoutMs`; a write still failing then is abandoned uncommitted (its
   * records are redelivered to the next recorder).
   */
  shutdown: shutdownSchema(25_000),
  /** Days of recordings kept; older daily partitions are dropped. 0 keeps everything. */
  retentionDays: z.number().int().min(0).default(90),
  retentionCheckIntervalMs: z
    .number()
    .int()
    .min(1000)
    .default(60 * 60 * 1000),
  /** Request texts remembered for labelling decisions (entries). */
  statementCacheSize: z.number().int().min(0).default(50_000),
});

export type RecorderConfig = ReturnType<typeof parseRecorderConfig>;

export function parseRecorderConfig(raw: unknown, source = 'recorder config') {
  return parseConfig(recorderConfigSchema, raw, source);
}

export function loadRecorderConfig(file: string): RecorderConfig {
  return loadConfigFile(recorderConfigSchema, file);
}
