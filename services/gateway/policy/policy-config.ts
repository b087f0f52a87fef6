import { z } from 'zod';
import { secretRefSchema } from '../../shared/config/secrets.js';
import { keyIdSchema, publicKeyTextSchema } from '../../shared/signing/signing-keys.js';

/**
 * The policy stream (`gatehouse.policies`): signed bundles published with `gatehouse policy publish`, swapped in by
 * every node; heartbeats on `gatehouse.nodes` for `gatehouse policy status`.
 */
export const policyStreamSchema = z.strictObject({
  /** Compacted topic of signed bundle records. */
  topic: z.string().min(1).default('gatehouse.policies'),
  /** Node heartbeats and refusals. */
  nodesTopic: z.string().min(1).default('gatehouse.nodes'),
  /** Consumer groups are `<prefix>-<random>` (the Kafka ACL grants the gateway the `gatehouse-gateway-` prefix). */
  groupIdPrefix: z.string().min(1).default('gatehouse-gateway-policy'),
  /**
   * Public keys of the policy publishers by key id (SPKI PEM or raw base64url Ed25519, inline or `{file}`): a record
   * signed by any other key is refused.
   */
  trustedKeys: z
    .record(keyIdSchema, z.union([publicKeyTextSchema, secretRefSchema]))
    .refine((keys) => Object.keys(keys).length > 0, 'pin at least one policy-publisher public key'),
  /** Longest start waits to read the topic to its end (the node is not ready before). */
  startTimeoutMs: z.number().int().min(100).default(30_000),
  /** Heartbeat period on `nodesTopic`. */
  heartbeatMs: z.number().int().min(100).default(2_000),
  /** Newest `active` records kept while catching up, tried newest first until one loads. */
  maxCandidates: z.number().int().min(1).max(100).default(5),
  /** Refusals remembered (reported in heartbeats and on /readyz). */
  maxRefusals: z.number().int().min(1).max(1000).default(20),
  /** Create the topics when missing (policies: one partition, compacted; nodes: one partition, `nodesRetentionMs`). */
  provision: z.boolean().default(true),
  /** `retention.ms` of the nodes topic (old heartbeats). */
  nodesRetentionMs: z.number().int().min(60_000).default(3_600_000),
});

export const policyConfigSchema = z
  .strictObject({
    /**
     * Folder with policy.wasm, data.json and revision (policies/build.sh). Without `stream`: the bundle. With
     * `stream`: loaded only when the topic holds no good revision yet.
     */
    bundleDir: z.string().min(1).optional(),
    /** Reload `bundleDir` when its `revision` file changes (single nodes without the stream). */
    watch: z.boolean().default(false),
    /** A changed folder is reloaded after it stayed unchanged this long. */
    watchDebounceMs: z.number().int().min(10).default(200),
    stream: policyStreamSchema.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.bundleDir === undefined && p.stream === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['bundleDir'],
        message: 'set policy.bundleDir, policy.stream or both',
      });
    }
    if (p.watch && p.stream !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['watch'],
        message: 'watch reloads bundleDir on a node without policy.stream; with the stream, publish instead',
      });
    }
  });

export type PolicyConfig = z.output<typeof policyConfigSchema>;
