import { z } from 'zod';
import { DETECTORS } from './types.js';
import type { Decision } from './types.js';

/** Bounds on a decision; a policy exceeding them produces a malformed decision (fail closed). */
export const DECISION_LIMITS = {
  maxReasons: 1000,
  maxReasonLength: 4096,
  maxGroups: 256,
  maxMaskEntries: 10_000,
  maxNameLength: 1024,
  /** Grants one decision may name in `grants_used`. */
  maxGrantsUsed: 100,
  /** 30 days: the longest approval wait or grant reuse a decision may ask for. */
  maxSeconds: 30 * 24 * 3600,
} as const;

const name = z.string().min(1).max(DECISION_LIMITS.maxNameLength);
const seconds = z.number().int().min(0).max(DECISION_LIMITS.maxSeconds);

const approvalSchema = z.strictObject({
  required: z.boolean(),
  groups: z.array(name).max(DECISION_LIMITS.maxGroups),
  approvals_needed: z.number().int().min(0).max(DECISION_LIMITS.maxGroups),
  ttl_seconds: seconds,
  reuse_seconds: seconds,
});

const maskSchema = z.strictObject({
  columns: z.array(name).max(DECISION_LIMITS.maxMaskEntries),
  fields: z.array(name).max(DECISION_LIMITS.maxMaskEntries),
  detectors: z.array(z.enum(DETECTORS)).max(DETECTORS.length),
});

/**
 * The decision shape, strict: every field required (but the optional `grants_used`), no unknown fields, and the
 * combinations the gateway relies on: at least one reason; `allow` and `approval.required` never both true;
 * `grants_used` only with `allow`; a required approval names at least one group, needs at least one approval and
 * has a positive ttl.
 */
export const decisionSchema = z
  .strictObject({
    allow: z.boolean(),
    reasons: z
      .array(z.string().min(1).max(DECISION_LIMITS.maxReasonLength))
      .min(1)
      .max(DECISION_LIMITS.maxReasons),
    approval: approvalSchema,
    mask: maskSchema,
    audit: z.enum(['sync', 'batched']),
    grants_used: z.array(name).max(DECISION_LIMITS.maxGrantsUsed).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.allow && d.approval.required) {
      ctx.addIssue({
        code: 'custom',
        path: ['approval', 'required'],
        message: 'must be false when allow is true',
      });
    }
    if (!d.allow && (d.grants_used?.length ?? 0) > 0) {
      ctx.addIssue({ code: 'custom', path: ['grants_used'], message: 'must be empty unless allow is true' });
    }
    if (d.approval.required) {
      if (d.approval.groups.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['approval', 'groups'],
          message: 'required approval names no group',
        });
      }
      if (d.approval.approvals_needed < 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['approval', 'approvals_needed'],
          message: 'must be at least 1',
        });
      }
      if (d.approval.ttl_seconds < 1) {
        ctx.addIssue({ code: 'custom', path: ['approval', 'ttl_seconds'], message: 'must be at least 1' });
      }
    }
  });

export type DecisionParse = { ok: true; decision: Decision } | { ok: false; problem: string };

/**
 * Validates a value returned by the policy. On failure, `problem` names the first bad field and what is wrong
 * (e.g. `allow: expected boolean`), never the value itself.
 */
export function parseDecision(value: unknown): DecisionParse {
  const parsed = decisionSchema.safeParse(value);
  if (parsed.success) return { ok: true, decision: parsed.data };
  const issue = parsed.error.issues[0];
  if (issue === undefined) return { ok: false, problem: 'invalid decision' };
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : 'decision';
  return { ok: false, problem: `${path}: ${shortIssueMessage(issue)}` };
}

function shortIssueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown field ${issue.keys.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}`;
    case 'invalid_value':
      return 'not an allowed value';
    case 'too_big':
      return `too big (max ${String(issue.maximum)})`;
    case 'too_small':
      return `too small (min ${String(issue.minimum)})`;
    case 'custom':
      return issue.message;
    default:
      return issue.code;
  }
}
