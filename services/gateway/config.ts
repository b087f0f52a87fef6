import { z } from 'zod';
import { keyIdSchema, publicKeyTextSchema } from '../shared/signing/signing-keys.js';
import type { Frozen } from '../shared/config/load-config.js';
import { kafkaConfigSchema } from '../shared/config/kafka-config.js';
import { secretRefSchema } from '../shared/config/secrets.js';
import {
  healthSchema,
  listenFields,
  logLevelSchema,
  nodeIdSchema,
  oidcSchema,
  shutdownSchema,
} from '../shared/config/sections.js';
import { httpConnectionSchema, httpListenerSchema } from './http/config.js';
import { mcpConnectionSchema, mcpListenerSchema } from './mcp/config.js';
import { decisionMemoSchema } from './pipeline/decision-memo.js';
import { policyConfigSchema } from './policy/policy-config.js';
import { proxyProtocolSchema } from './proxy-protocol/proxy-config.js';

const postgresUpstreamSchema = z.strictObject({
  host: z.string(),
  port: z.number().int().min(1).max(65535).default(5432),
  database: z.string(),
  user: z.string(),
  /** Never inline: `{env: NAME}` or `{file: /path}`. */
  password: secretRefSchema,
  connectTimeoutMs: z.number().int().min(1).default(5_000),
});

/** Pinned upstream host public key(s): OpenSSH public key lines (`ssh-ed25519 AAAA… comment`), inline or in a file. */
const sshHostKeySchema = z.union([z.string().min(1), z.strictObject({ file: z.string().min(1) })]);

const sshUpstreamSchema = z
  .strictObject({
    host: z.string(),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1),
    /** The gateway's own private key (OpenSSH or PEM), never inline: `{env: NAME}` or `{file: /path}`. */
    privateKey: secretRefSchema.optional(),
    /** Passphrase of an encrypted `privateKey`. */
    passphrase: secretRefSchema.optional(),
    /** Password login instead of a key (one of `privateKey` or `password`). */
    password: secretRefSchema.optional(),
    /** Required when `hostKeyVerification` is `pinned` (the default). */
    hostKey: sshHostKeySchema.optional(),
    /** `off` accepts any upstream host key (local experiments only: it allows a man in the middle). */
    hostKeyVerification: z.enum(['pinned', 'off']).default('pinned'),
    connectTimeoutMs: z.number().int().min(1).default(10_000),
  })
  .superRefine((u, ctx) => {
    if ((u.privateKey === undefined) === (u.password === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['privateKey'],
        message: 'set exactly one of privateKey or password',
      });
    }
    if (u.hostKeyVerification === 'pinned' && u.hostKey === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostKey'],
        message: 'the upstream host key is required (or set hostKeyVerification: off for local experiments)',
      });
    }
  });

const connectionSchema = z.discriminatedUnion('protocol', [
  z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
    protocol: z.literal('postgres'),
    upstream: postgresUpstreamSchema,
    tags: z.record(z.string(), z.string()).default({}),
  }),
  z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
    protocol: z.literal('ssh'),
    upstream: sshUpstreamSchema,
    tags: z.record(z.string(), z.string()).default({}),
  }),
  mcpConnectionSchema,
  httpConnectionSchema,
]);

export const gatewayConfigSchema = z
  .strictObject({
    nodeId: nodeIdSchema,
    logLevel: logLevelSchema,
    health: healthSchema(9480),
    /** SIGTERM: sessions get `drainTimeoutMs` to finish, then the audit log is flushed. */
    shutdown: shutdownSchema(10_000),
    /**
     * SIGTERM: `/readyz` answers 503 this long before the listeners stop accepting, so a load balancer takes the node
     * out of rotation first (set it above the balancer's check interval × fall count; counts against
     * `shutdown.exitTimeoutMs`). 0: stop accepting at once.
     */
    unreadyBeforeDrainMs: z.number().int().min(0).max(60_000).default(0),
    listeners: z.strictObject({
      postgres: z
        .strictObject({
          ...listenFields(6432),
          /** Behind a balancer that sends PROXY protocol v2 (`send-proxy-v2`): the client's real address. */
          proxyProtocol: proxyProtocolSchema.optional(),
          /** PEM certificate and key files. Required unless `allowPlaintext`. */
          tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
          /** Accept connections without TLS (the token then crosses the network in clear): local development only. */
          allowPlaintext: z.boolean().default(false),
          maxMessageBytes: z
            .number()
            .int()
            .min(1024)
            .default(1024 * 1024),
          maxSessions: z.number().int().min(1).default(1000),
          /** Close a session idle (no client message) this long. 0 disables. */
          idleTimeoutMs: z
            .number()
            .int()
            .min(0)
            .default(30 * 60_000),
          /** Most time allowed from connect to a completed login. */
          authTimeoutMs: z.number().int().min(1).default(15_000),
          /** Most prepared statements plus cursors/portals one session may hold (SQL and protocol level); beyond
           * it PREPARE/DECLARE/Parse/Bind of a new name is refused with 54000. */
          maxNamesPerSession: z.number().int().min(1).default(1000),
          /** Largest upstream (server → client) message, as its length field; larger ends the session with 54000. */
          maxBackendMessageBytes: z
            .number()
            .int()
            .min(64 * 1024)
            .default(256 * 1024 * 1024),
          /** Rows per `data_rows` audit event (one event per batch, not per row). */
          auditRowBatch: z.number().int().min(1).default(500),
          /** Bytes per `data_rows` audit event. */
          auditBatchBytes: z
            .number()
            .int()
            .min(1024)
            .default(256 * 1024),
        })
        .optional(),
      ssh: z
        .strictObject({
          ...listenFields(2222),
          /** Behind a balancer that sends PROXY protocol v2 (`send-proxy-v2`): the client's real address. */
          proxyProtocol: proxyProtocolSchema.optional(),
          /** The gateway's own SSH host private key file (generate one with `ssh-keygen -t ed25519 -N '' -f FILE`). */
          hostKey: z.string().min(1),
          maxSessions: z.number().int().min(1).default(1000),
          /** Close a connection without channel traffic this long. 0 disables. */
          idleTimeoutMs: z
            .number()
            .int()
            .min(0)
            .default(30 * 60_000),
          /** Most time allowed from connect to a completed login (token check and upstream login included). */
          authTimeoutMs: z.number().int().min(1).default(30_000),
          /** Failed token attempts per connection before it is closed. */
          maxAuthAttempts: z.number().int().min(1).default(3),
          /** Most bytes of channel data in one audit event; larger chunks become several events. */
          auditChunkBytes: z
            .number()
            .int()
            .min(1024)
            .default(64 * 1024),
          /** Pause channel output while this many bytes of audit events wait for Kafka (backpressure). */
          auditBacklogBytes: z
            .number()
            .int()
            .min(64 * 1024)
            .default(16 * 1024 * 1024),
          /** Masking: longest line held back to mask it whole; longer lines are masked in pieces. */
          maskLineBytes: z
            .number()
            .int()
            .min(256)
            .default(64 * 1024),
          /** Masking: a partial line (a prompt) is masked and sent after this much quiet. */
          maskFlushMs: z.number().int().min(1).default(50),
          /** Masking: bytes kept back after a forced cut of a long line, so a value crossing the cut is seen whole. */
          maskCarryBytes: z.number().int().min(0).default(1024),
          /** Most time opening a channel (exec, shell, subsystem, port forward) on the upstream connection may take. */
          channelOpenTimeoutMs: z.number().int().min(1).default(30_000),
          /** Most time the last output (or a refusal line) may take to reach the client before the exit status. */
          outputFlushTimeoutMs: z.number().int().min(1).default(10_000),
          /** Most time output stays paused waiting for the audit backlog to drain before the session fails closed. */
          auditBacklogWaitMs: z.number().int().min(1).default(60_000),
          /** When a session closes with a message, how long the client gets to hang up before it is disconnected. */
          closeGraceMs: z.number().int().min(0).default(2_000),
        })
        .optional(),
      /** MCP over Streamable HTTP (services/gateway/mcp/config.ts). */
      mcp: mcpListenerSchema.optional(),
      /** HTTP reverse proxy for internal APIs (services/gateway/http/config.ts). */
      http: httpListenerSchema.optional(),
    }),
    oidc: oidcSchema,
    kafka: kafkaConfigSchema,
    /**
     * Refused logins (every listener) become `login_refused` events. Per client address, `burst` are recorded one
     * by one, then `perSecond`; the rest are counted and reported by the next recorded refusal of that address or a
     * `rate_limited` summary every `summaryIntervalMs`. At most `maxSources` addresses are tracked; further ones share
     * one overflow bucket (`*`).
     */
    loginAudit: z
      .strictObject({
        burst: z.number().int().min(1).default(20),
        perSecond: z.number().min(0.01).default(2),
        maxSources: z.number().int().min(1).default(10_000),
        summaryIntervalMs: z.number().int().min(100).default(10_000),
      })
      .prefault({}),
    /** Just-in-time approvals. Without this section, requests that need approval are refused. */
    approvals: z
      .strictObject({
        /** Public URL of the approval service (approve links: `<url>/approvals/<id>`). */
        url: z.url(),
        /** Requests held for approval on this node at once; more are refused as unavailable. */
        maxPending: z.number().int().min(1).default(1000),
        /** Held requests fail as unavailable once the approvals topic could not be read this long. */
        logTimeoutMs: z.number().int().min(1000).default(15_000),
        /** Reusable grants remembered. */
        maxGrants: z.number().int().min(1).default(10_000),
        /** Decided approval ids remembered (first decision wins). */
        maxDecidedIds: z.number().int().min(1).default(100_000),
        /** Refused decisions recorded (log line and security event) per held request; more are only counted. */
        maxRefusalsPerRequest: z.number().int().min(1).default(100),
        /** Longest request text published in an approval request (UTF-16 units); longer text is cut and marked. */
        maxRequestTextLength: z
          .number()
          .int()
          .min(1024)
          .default(256 * 1024),
        /** How long start-up waits to join the approvals topic. */
        startTimeoutMs: z.number().int().min(1000).default(30_000),
        /**
         * Hold lease: each held request is renewed every `holdRenewMs` for `holdLeaseMs` (a `holding` notice). When
         * the node dies, the lease lapses and the approval service ends the approval `abandoned` (a late approve
         * answers 409). Keep `holdLeaseMs` a few renewals long, plus the clock skew between gateway and approval hosts.
         */
        holdRenewMs: z.number().int().min(100).default(5_000),
        holdLeaseMs: z.number().int().min(500).default(20_000),
        /**
         * The approval service's decision-signing public keys by key id: SPKI PEM text, base64url raw Ed25519, or
         * `{file: PATH}` of a PEM (`openssl pkey -in KEY -pubout`). A held
         * request resumes only on a decision signed by one of these. Rotation: add the new key here on every gateway
         * first, then activate it in the approval service, then remove the old one (services/approval/README.md).
         */
        trustedKeys: z
          .record(keyIdSchema, z.union([publicKeyTextSchema, secretRefSchema]))
          .refine((keys) => Object.keys(keys).length > 0, 'pin at least one approval-service public key'),
      })
      .refine((a) => a.holdRenewMs < a.holdLeaseMs, {
        message: 'holdRenewMs must be below holdLeaseMs',
        path: ['holdRenewMs'],
      })
      .optional(),
    /** SQL analysis for policy and masking (PostgreSQL connections). */
    sql: z
      .strictObject({
        /** Parsed statements remembered (by text, least recently used first out). */
        analysisCacheEntries: z.number().int().min(1).default(1000),
        /** Column lineages remembered per connection. */
        lineageCacheEntries: z.number().int().min(1).default(1000),
        /** Statement texts longer than this (characters) are analysed every time, never cached. */
        maxCachedTextLength: z.number().int().min(1).default(8192),
        /** A lookup of an unknown table reloads the upstream's catalog at most this often. */
        catalogRefreshMinMs: z.number().int().min(0).default(1_000),
      })
      .prefault({}),
    /**
     * The decision memo: identical requests reuse a decision when the policy bundle declares itself pure for the
     * inputs it reads (`gatehouse.memo`, policies/README.md); every request is still recorded.
     */
    decisionMemo: decisionMemoSchema,
    /** The policy bundle: a folder, the policy stream, or both (services/gateway/policy/policy-config.ts). */
    policy: policyConfigSchema,
    connections: z.array(connectionSchema).min(1),
  })
  .superRefine((cfg, ctx) => {
    const pg = cfg.listeners.postgres;
    if (pg && !pg.tls && !pg.allowPlaintext) {
      ctx.addIssue({
        code: 'custom',
        path: ['listeners', 'postgres', 'tls'],
        message: 'TLS certificate and key are required (or set allowPlaintext: true for local development)',
      });
    }
    const seen = new Set<string>();
    cfg.connections.forEach((c, i) => {
      if (seen.has(c.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['connections', i, 'name'],
          message: `duplicate name ${c.name}`,
        });
      }
      seen.add(c.name);
    });
  });

export type GatewayConfig = Frozen<z.output<typeof gatewayConfigSchema>>;
export type PostgresListenerConfig = NonNullable<GatewayConfig['listeners']['postgres']>;
export type ConnectionConfig = GatewayConfig['connections'][number];
export type SshListenerConfig = NonNullable<GatewayConfig['listeners']['ssh']>;
export type SshConnectionConfig = Extract<ConnectionConfig, { protocol: 'ssh' }>;
export type McpConnection = Extract<ConnectionConfig, { protocol: 'mcp' }>;
