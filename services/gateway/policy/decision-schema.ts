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
  if (isValidDecision(value)) return { ok: true, decision: value };
  const parsed = decisionSchema.safeParse(value);
  if (parsed.success) return { ok: true, decision: parsed.data };
  const issue = parsed.error.issues[0];
  if (issue === undefined) return { ok: false, problem: 'invalid decision' };
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : 'decision';
  return { ok: false, problem: `${path}: ${shortIssueMessage(issue)}` };
}

const DETECTOR_SET: ReadonlySet<unknown> = new Set(DETECTORS);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isBoundedInt(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

function isStringArray(v: unknown, maxItems: number, maxLength: number): v is string[] {
  if (!Array.isArray(v) || v.length > maxItems) return false;
  for (const x of v) if (typeof x !== 'string' || x.length < 1 || x.length > maxLength) return false;
  return true;
}

/** `v` has exactly these own keys (and only own enumerable ones: nothing inherited counts). */
function hasExactlyKeys(v: Record<string, unknown>, keys: readonly string[]): boolean {
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) return false;
    n++;
  }
  if (n !== keys.length) return false;
  for (const k of keys) if (!Object.hasOwn(v, k)) return false;
  return true;
}

const DECISION_KEYS = ['allow', 'reasons', 'approval', 'mask', 'audit'] as const;
const DECISION_KEYS_WITH_GRANTS = [...DECISION_KEYS, 'grants_used'] as const;
const APPROVAL_KEYS = ['required', 'groups', 'approvals_needed', 'ttl_seconds', 'reuse_seconds'] as const;
const MASK_KEYS = ['columns', 'fields', 'detectors'] as const;

/**
 * The hot path of `parseDecision`: true only for a value `decisionSchema` accepts (a sufficient check, never a
 * looser one: anything it does not accept goes through the schema, which decides and words the problem). A
 * decision the policy returns is a fresh object parsed from JSON, so it is returned as is.
 */
function isValidDecision(d: unknown): d is Decision {
  if (!isRecord(d)) return false;
  const { allow, reasons, approval, mask, audit, grants_used: grants } = d;
  if (typeof allow !== 'boolean' || (audit !== 'sync' && audit !== 'batched')) return false;
  if (!isStringArray(reasons, DECISION_LIMITS.maxReasons, DECISION_LIMITS.maxReasonLength)) return false;
  if (reasons.length < 1) return false;
  if (grants !== undefined) {
    if (!isStringArray(grants, DECISION_LIMITS.maxGrantsUsed, DECISION_LIMITS.maxNameLength)) return false;
    if (!allow && grants.length > 0) return false;
  }
  if (!hasExactlyKeys(d, grants === undefined ? DECISION_KEYS : DECISION_KEYS_WITH_GRANTS)) return false;
  if (!isRecord(approval) || !hasExactlyKeys(approval, APPROVAL_KEYS)) return false;
  const { required, groups, approvals_needed: needed, ttl_seconds: ttl, reuse_seconds: reuse } = approval;
  if (typeof required !== 'boolean' || (allow && required)) return false;
  if (!isStringArray(groups, DECISION_LIMITS.maxGroups, DECISION_LIMITS.maxNameLength)) return false;
  if (!isBoundedInt(needed, DECISION_LIMITS.maxGroups)) return false;
  if (!isBoundedInt(ttl, DECISION_LIMITS.maxSeconds) || !isBoundedInt(reuse, DECISION_LIMITS.maxSeconds))
    return false;
  if (required && (groups.length === 0 || needed < 1 || ttl < 1)) return false;
  if (!isRecord(mask) || !hasExactlyKeys(mask, MASK_KEYS)) return false;
  const { columns, fields, detectors } = mask;
  if (!isStringArray(columns, DECISION_LIMITS.maxMaskEntries, DECISION_LIMITS.maxNameLength)) return false;
  if (!isStringArray(fields, DECISION_LIMITS.maxMaskEntries, DECISION_LIMITS.maxNameLength)) return false;
  if (!Array.isArray(detectors) || detectors.length > DETECTORS.length) return false;
  for (const x of detectors) if (!DETECTOR_SET.has(x)) return false;
  return true;
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
