import { z } from 'zod';
import { kafkaConfigSchema } from '../shared/config/kafka-config.js';
import { loadConfigFile, parseConfig } from '../shared/config/load-config.js';
import { secretRefSchema } from '../shared/config/secrets.js';
import {
  healthSchema,
  listenFields,
  logLevelSchema,
  nodeIdSchema,
  oidcSchema,
  shutdownSchema,
} from '../shared/config/sections.js';
import { keyIdSchema, publicKeyTextSchema } from '../shared/signing/signing-keys.js';
import { webLoginSchema } from '../shared/web-login/index.js';

const tlsSchema = z.strictObject({ cert: z.string().min(1), key: z.string().min(1) });

const listenSchema = (port: number) =>
  z.strictObject({
    ...listenFields(port),
    /** PEM files; without them the listener is plain (put it behind a TLS-terminating proxy). */
    tls: tlsSchema.optional(),
  });

const httpUrl = z.url({ protocol: /^https?$/ });

/**
 * `gatehouse approval --config FILE` (YAML). Every default is here; services/approval/README.md documents them.
 */
export const approvalConfigSchema = z.strictObject({
  /** Names this instance in logs, on the events it publishes (`node_id`) and in the Kafka client id. */
  instanceId: nodeIdSchema,
  logLevel: logLevelSchema,
  kafka: kafkaConfigSchema,
  /** Reviewers authenticate with access tokens from this issuer for this audience. */
  oidc: oidcSchema,
  /**
   * Every `approval.decided` is signed (Ed25519) with this key; gateways pin its public key by `keyId`
   * (`approvals.trustedKeys`). Rotation: services/approval/README.md, "Signed decisions".
   */
  signing: z.strictObject({
    /** The id gateways know the key by (written on every decision). */
    keyId: keyIdSchema,
    /** PKCS#8 PEM of the Ed25519 private key (`openssl genpkey -algorithm ed25519`): `{file: PATH}` or `{env: NAME}`. */
    privateKey: secretRefSchema,
    /**
     * Other approval-service keys whose decisions this instance accepts when folding the log (kid -> SPKI PEM or
     * base64url raw public key): the next or previous key during a rotation. This instance's own key is always trusted.
     */
    trustedKeys: z.record(keyIdSchema, publicKeyTextSchema).default({}),
  }),
  /**
   * Web login for the reviewer page (OIDC authorization code + PKCE, session cookie); the page then needs no pasted
   * token and redirects to the login. Without it the page asks for an access token. The API keeps bearer tokens.
   */
  web: webLoginSchema.optional(),
  /** HTTP API, web page and server-sent events. */
  http: listenSchema(8620).prefault({}),
  /** gRPC API (gatehouse.v1.ApprovalService). */
  grpc: listenSchema(8621).prefault({}),
  /** /healthz, /readyz, /metrics. */
  health: healthSchema(9620),
  /** SIGTERM: API calls and streams get `drainTimeoutMs` to finish, then the publisher is flushed. */
  shutdown: shutdownSchema(10_000),
  /** The URL reviewers reach the web page at (approve links in notifications). Default: the HTTP listener. */
  publicUrl: httpUrl.optional(),
  /**
   * Slack-compatible incoming webhooks. A webhook gets new requests and outcomes of approvals whose approver groups
   * include `group` (`*`: every approval). The URL is a credential: write it inline only for local testing; use
   * `{env: NAME}` or `{file: PATH}` otherwise. It is never logged.
   */
  webhooks: z
    .array(z.strictObject({ group: z.string().min(1), url: z.union([httpUrl, secretRefSchema]) }))
    .default([]),
  /** Copies approval requests from `kafka.topics.approvalRequests` into the approvals log. */
  relay: z
    .strictObject({
      /** Consumer group shared by all instances, so each request is relayed by one instance. */
      groupId: z.string().min(1).default('gatehouse-approval-relay'),
    })
    .prefault({}),
  notify: z
    .strictObject({
      /** Consumer group shared by all instances, so each notification is sent by one instance. */
      groupId: z.string().min(1).default('gatehouse-approval-notify'),
      /** Most notifications waiting to be sent; more are dropped (and counted). */
      queueSize: z.number().int().min(1).max(1_000_000).default(1000),
      /** Attempts per notification (the first included). */
      maxAttempts: z.number().int().min(1).max(100).default(6),
      /** Backoff before the first retry; doubles up to `maxBackoffMs`. */
      backoffMs: z.number().int().min(1).default(500),
      maxBackoffMs: z.number().int().min(1).default(30_000),
      /** Time limit of one POST. */
      timeoutMs: z.number().int().min(1).default(5_000),
      /** POSTs in flight at once. */
      concurrency: z.number().int().min(1).max(64).default(2),
      /** Longest the notifier waits for the fold to see an event before formatting it from the event alone. */
      foldWaitMs: z.number().int().min(0).default(5_000),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Approvals held in memory (the oldest decided ones are forgotten first; the log keeps everything). */
      maxApprovals: z.number().int().min(10).default(50_000),
      /** Decided approvals are forgotten from memory this long after their decision. */
      retainDecidedHours: z
        .number()
        .positive()
        .default(24 * 7),
      /** History entries kept per approval. */
      maxHistory: z.number().int().min(2).max(10_000).default(100),
      /** How long a decision call waits for its own event to come back from the log before answering 202. */
      foldWaitMs: z.number().int().min(100).max(120_000).default(10_000),
      /**
       * When the reviews settled an outcome but no decision was published this long after (the accepting instance
       * died), any instance publishes it.
       */
      decideGraceMs: z.number().int().min(0).default(5_000),
      /** How often expiries and unpublished decisions are checked. */
      sweepIntervalMs: z.number().int().min(50).max(60_000).default(1_000),
      /** Each instance waits a random part of this after an expiry before publishing it (fewer duplicates). */
      expiryJitterMs: z.number().int().min(0).max(60_000).default(500),
      /** Server-sent-event and gRPC watch streams open at once. */
      maxStreams: z.number().int().min(1).max(100_000).default(200),
      /** Longest reason a reviewer may give. */
      maxReasonLength: z.number().int().min(1).max(100_000).default(2_000),
      /** Most approvals one list returns. */
      maxList: z.number().int().min(1).max(100_000).default(1_000),
      /** Concurrent callers waiting for their event to be folded. */
      maxWaiters: z.number().int().min(1).default(10_000),
      /** Wait at start for the approval log to be read to its end before reporting ready. */
      startTimeoutMs: z.number().int().min(1).default(60_000),
    })
    .prefault({}),
});

export type ApprovalConfig = ReturnType<typeof parseApprovalConfig>;
export type ApprovalConfigInput = z.input<typeof approvalConfigSchema>;

export function parseApprovalConfig(raw: unknown, source = 'approval config') {
  return parseConfig(approvalConfigSchema, raw, source);
}

export function loadApprovalConfig(file: string): ApprovalConfig {
  return loadConfigFile(approvalConfigSchema, file);
}
