import { z } from 'zod';

/**
 * A bundle's promise that its decision is a pure function of some parts of `input`, which lets the gateway reuse a
 * decision for an identical request (the decision memo, services/gateway/pipeline/decision-memo.ts). Declared in
 * the bundle's data document at `gatehouse.memo` (services/gateway/pipeline/README.md, "Decision memo"):
 *
 * ```json
 * { "gatehouse": { "memo": { "inputs": ["identity.groups", "connection.name", "request"], "time_bucket_seconds": 0 } } }
 * ```
 *
 * - `inputs`: every input path the decision reads besides `input.request`, `input.connection.name` and
 *   `input.connection.protocol` (always part of the memo key) and `input.grants` (a request offered grants is
 *   never memoised). A path outside `MEMO_INPUT_PATHS` makes the bundle invalid.
 * - `time_bucket_seconds`: 0 when the decision does not read `input.time` (apart from comparing grants with it);
 *   otherwise the decision must be constant within each bucket `floor(input.time.unix / N)` (for rules on
 *   `input.time.hour`, any N dividing 3600), and the bucket is part of the key. N divides 86 400.
 *
 * No declaration: the bundle's decisions are never memoised.
 */
export type MemoDeclaration = {
  readonly inputs: readonly MemoInputPath[];
  readonly timeBucketSeconds: number;
};

/** The input paths a declaration may name (beyond the ones always in the key). */
export const MEMO_INPUT_PATHS = [
  'identity',
  'identity.sub',
  'identity.email',
  'identity.groups',
  'identity.agent',
  'identity.issuer',
  'identity.client_id',
  'connection',
  'connection.tags',
  'session',
  'session.id',
  'session.node',
  'session.client_addr',
  'session.started_at',
] as const;

export type MemoInputPath = (typeof MEMO_INPUT_PATHS)[number];

const declarationSchema = z.strictObject({
  inputs: z.array(z.enum(MEMO_INPUT_PATHS)).max(MEMO_INPUT_PATHS.length),
  time_bucket_seconds: z
    .number()
    .int()
    .min(0)
    .max(86_400)
    .refine((n) => n === 0 || 86_400 % n === 0, 'must be 0 or divide 86400'),
});

/**
 * The memo declaration of a bundle's data document (already parsed JSON), or null when it has none. Throws an
 * `Error` whose message names the bad field (the engine reports it as `GH_ERR_POLICY_DATA_INVALID`).
 */
export function memoDeclaration(data: unknown): MemoDeclaration | null {
  const gatehouse = isObject(data) ? data['gatehouse'] : undefined;
  const raw = isObject(gatehouse) ? gatehouse['memo'] : undefined;
  if (raw === undefined) return null;
  const parsed = declarationSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${['gatehouse', 'memo', ...i.path].join('.')}: ${i.message}`,
    );
    throw new Error(`invalid decision memo declaration: ${problems.join('; ')}`);
  }
  return Object.freeze({
    inputs: Object.freeze([...new Set(parsed.data.inputs)].sort()),
    timeBucketSeconds: parsed.data.time_bucket_seconds,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
