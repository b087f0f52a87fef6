import { z } from 'zod';
import { DEFAULT_PUBLISHER_OPTIONS } from '../log/publisher.js';

const d = DEFAULT_PUBLISHER_OPTIONS;

/** The Kafka part of every service's configuration, with documented defaults. */
export const kafkaConfigSchema = z.strictObject({
  brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1),
  clientId: z.string().default('gatehouse'),
  topics: z
    .strictObject({
      sessions: z.string().default('gatehouse.sessions'),
      approvals: z.string().default('gatehouse.approvals'),
      policies: z.string().default('gatehouse.policies'),
      partitions: z.number().int().min(1).default(12),
      replicationFactor: z.number().int().min(1).default(3),
      minInsyncReplicas: z.number().int().min(1).default(2),
      retentionHours: z
        .number()
        .positive()
        .default(24 * 7),
      /** Create missing topics at start. */
      provision: z.boolean().default(true),
    })
    .prefault({}),
  publisher: z
    .strictObject({
      maxBufferedEvents: z.number().int().min(1).default(d.maxBufferedEvents),
      maxBufferedBytes: z.number().int().min(1024).default(d.maxBufferedBytes),
      lingerMs: z.number().int().min(0).default(d.lingerMs),
      maxBatchEvents: z.number().int().min(1).default(d.maxBatchEvents),
      maxBatchBytes: z.number().int().min(1024).default(d.maxBatchBytes),
      failClosedAfterMs: z.number().int().min(0).default(d.failClosedAfterMs),
      durableTimeoutMs: z.number().int().min(1).default(d.durableTimeoutMs),
    })
    .prefault({}),
});

export type KafkaConfig = z.output<typeof kafkaConfigSchema>;
