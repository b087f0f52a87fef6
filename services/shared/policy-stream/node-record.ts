import { z } from 'zod';

/**
 * One record of the `gatehouse.nodes` topic (key = node id): a heartbeat every `intervalMs`, and a `refused` note at
 * once when the node refuses a policy record. `gatehouse policy status` folds the topic: the newest heartbeat per
 * node, live while younger than three intervals.
 */
export const nodeRecordSchema = z.object({
  v: z.literal(1),
  type: z.enum(['heartbeat', 'refused', 'stopped']),
  node: z.string().min(1).max(256),
  /** Milliseconds since the epoch. */
  at: z.number().int().nonnegative(),
  intervalMs: z.number().int().positive(),
  revision: z.string().nullable(),
  since: z.number().int().nullable(),
  source: z.string().nullable(),
  shadowRevision: z.string().nullable(),
  refusedTotal: z.number().int().nonnegative(),
  refusals: z.array(
    z.object({ revision: z.string(), code: z.string(), reason: z.string(), at: z.number().int() }),
  ),
});
export type NodeRecord = z.output<typeof nodeRecordSchema>;
