import { z } from 'zod';
import { DEFAULT_PUBLISHER_OPTIONS } from '../log/publisher.js';
import type { TopicSpec } from '../log/topics.js';
import { secretRefSchema } from './secrets.js';

const d = DEFAULT_PUBLISHER_OPTIONS;
/** Room left in a topic's `max.message.bytes` for the record batch's own headers. */
const BATCH_OVERHEAD = 4096;

/** TLS to the brokers. Present: every connection is TLS and the broker certificate is verified. */
export const kafkaSslSchema = z.strictObject({
  /** PEM file of the CA(s) that signed the broker certificates; absent: Node's default CAs. Not a secret. */
  caFile: z.string().min(1).optional(),
});

/** SASL authentication (over TLS only): the service's own principal. */
export const kafkaSaslSchema = z.strictObject({
  mechanism: z.enum(['scram-sha-512', 'scram-sha-256']).default('scram-sha-512'),
  username: z.string().min(1),
  /** `{file: ...}` or `{env: ...}`, never inline. */
  password: secretRefSchema,
});

/** The Kafka part of every service's configuration, with documented defaults. */
export const kafkaConfigSchema = z
  .strictObject({
    brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1),
    clientId: z.string().default('gatehouse'),
    ssl: kafkaSslSchema.optional(),
    sasl: kafkaSaslSchema.optional(),
    topics: z
      .strictObject({
        sessions: z.string().default('gatehouse.sessions'),
        /** Decisions (and the requests the approval service relays): written only by the approval service. */
        approvals: z.string().default('gatehouse.approvals'),
        /** Approval requests as gateways write them; the approval service relays them into `approvals`. */
        approvalRequests: z.string().default('gatehouse.approval-requests'),
        partitions: z.number().int().min(1).default(12),
        replicationFactor: z.number().int().min(1).default(3),
        minInsyncReplicas: z.number().int().min(1).default(2),
        retentionHours: z
          .number()
          .positive()
          .default(24 * 7),
        /**
         * `max.message.bytes` of the sessions and approvals topics: set when they are created, checked at start on
         * existing ones (the node refuses to start when a topic allows less). Must exceed `publisher.maxBatchBytes`
         * by at least 4 KiB (record batch overhead).
         */
        maxMessageBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .default(1024 * 1024),
        /** Create missing topics at start (and check existing ones). */
        provision: z.boolean().default(true),
      })
      .prefault({}),
    publisher: z
      .strictObject({
        maxBufferedEvents: z.number().int().min(1).default(d.maxBufferedEvents),
        maxBufferedBytes: z.number().int().min(1024).default(d.maxBufferedBytes),
        lingerMs: z.number().int().min(0).default(d.lingerMs),
        /** `lz4` (default): produce requests compressed (see PublisherOptions.compression); `none`: never. */
        compression: z.enum(['lz4', 'none']).default(d.compression),
        maxBatchEvents: z.number().int().min(1).default(d.maxBatchEvents),
        maxBatchBytes: z.number().int().min(1024).default(d.maxBatchBytes),
        /**
         * Largest encoded audit event (one Kafka record), default 512 KiB. Larger events (long SQL texts, big rows,
         * COPY data) are split into ordered continuation frames; at most `maxBatchBytes`.
         */
        maxEventBytes: z
          .number()
          .int()
          .min(16 * 1024)
          .default(d.maxEventBytes),
        failClosedAfterMs: z.number().int().min(0).default(d.failClosedAfterMs),
        durableTimeoutMs: z.number().int().min(1).default(d.durableTimeoutMs),
        /** `node` (default): a gateway node's sessions share a partition; `session`: spread by session id. */
        partitionBy: z.enum(['node', 'session']).default(d.partitionBy),
      })
      .prefault({}),
  })
  .superRefine((k, ctx) => {
    if (k.sasl !== undefined && k.ssl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sasl'],
        message: 'SASL credentials are only sent over TLS: set kafka.ssl too',
      });
    }
    if (k.publisher.maxEventBytes > k.publisher.maxBatchBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['publisher', 'maxEventBytes'],
        message: `must not exceed publisher.maxBatchBytes (${k.publisher.maxBatchBytes})`,
      });
    }
    if (k.publisher.maxBatchBytes + BATCH_OVERHEAD > k.topics.maxMessageBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['publisher', 'maxBatchBytes'],
        message: `must be at least ${BATCH_OVERHEAD} bytes below topics.maxMessageBytes (${k.topics.maxMessageBytes})`,
      });
    }
  });

export type KafkaConfig = z.output<typeof kafkaConfigSchema>;

/** How a service creates (or checks) `names` from its `kafka.topics` section at start (`provision: true`). */
export function topicSpecs(topics: KafkaConfig['topics'], names: readonly string[]): TopicSpec[] {
  return names.map((name) => ({
    name,
    partitions: topics.partitions,
    replicationFactor: topics.replicationFactor,
    minInsyncReplicas: topics.minInsyncReplicas,
    retentionMs: Math.round(topics.retentionHours * 3_600_000),
    maxMessageBytes: topics.maxMessageBytes,
  }));
}
