import { describe, expect, it } from 'vitest';
import { DECISION_LIMITS, decisionSchema, parseDecision } from './decision-schema.js';
import { failClosedDecision, shortCause } from './fail-closed.js';

const allowDecision = {
  allow: true,
  reasons: ['read-only statements are allowed'],
  approval: { required: false, groups: [], approvals_needed: 0, ttl_seconds: 0, reuse_seconds: 0 },
  mask: { columns: ['customers.email'], fields: [], detectors: ['email'] },
  audit: 'batched',
};

const approvalDecision = {
  ...allowDecision,
  allow: false,
  reasons: ['DDL on connection demo-pg requires approval by dba'],
  approval: { required: true, groups: ['dba'], approvals_needed: 1, ttl_seconds: 900, reuse_seconds: 0 },
  audit: 'sync',
};

function problemOf(value: unknown): string {
  const parsed = parseDecision(value);
  if (parsed.ok) throw new Error('expected a malformed decision');
  return parsed.problem;
}

describe('parseDecision', () => {
  it('accepts complete decisions', () => {
    expect(parseDecision(allowDecision)).toEqual({ ok: true, decision: allowDecision });
    expect(parseDecision(approvalDecision)).toEqual({ ok: true, decision: approvalDecision });
  });

  it('accepts the grants an allow relied on, and only with allow', () => {
    const reused = { ...allowDecision, grants_used: ['ap-1'] };
    expect(parseDecision(reused)).toEqual({ ok: true, decision: reused });
    expect(problemOf({ ...approvalDecision, grants_used: ['ap-1'] })).toBe(
      'grants_used: must be empty unless allow is true',
    );
    expect(problemOf({ ...allowDecision, grants_used: [''] })).toBe('grants_used.0: too small (min 1)');
  });

  it('names the first bad field without echoing its value', () => {
    expect(problemOf({ ...allowDecision, allow: 'yes-secret-value' })).toBe('allow: expected boolean');
    expect(problemOf({ ...allowDecision, audit: 'later' })).toBe('audit: not an allowed value');
    expect(problemOf({ ...allowDecision, mask: { ...allowDecision.mask, detectors: ['dna'] } })).toBe(
      'mask.detectors.0: not an allowed value',
    );
    expect(problemOf('garbage')).toBe('decision: expected object');
    expect(problemOf(null)).toBe('decision: expected object');
  });

  it('requires every field', () => {
    const expected = {
      allow: 'allow: expected boolean',
      reasons: 'reasons: expected array',
      approval: 'approval: expected object',
      mask: 'mask: expected object',
      audit: 'audit: not an allowed value',
    } as const;
    for (const [field, problem] of Object.entries(expected)) {
      const rest: Record<string, unknown> = { ...allowDecision };
      delete rest[field];
      expect(problemOf(rest)).toBe(problem);
    }
    const { reuse_seconds: _r, ...approval } = allowDecision.approval;
    expect(problemOf({ ...allowDecision, approval })).toBe('approval.reuse_seconds: expected number');
  });

  it('rejects unknown fields (typos fail closed)', () => {
    expect(problemOf({ ...allowDecision, alow: true })).toBe('decision: unknown field "alow"');
    expect(problemOf({ ...allowDecision, mask: { ...allowDecision.mask, detector: [] } })).toBe(
      'mask: unknown field "detector"',
    );
  });

  it('rejects contradictory or incomplete approvals', () => {
    expect(problemOf({ ...approvalDecision, allow: true })).toBe(
      'approval.required: must be false when allow is true',
    );
    expect(problemOf({ ...approvalDecision, approval: { ...approvalDecision.approval, groups: [] } })).toBe(
      'approval.groups: required approval names no group',
    );
    expect(
      problemOf({ ...approvalDecision, approval: { ...approvalDecision.approval, approvals_needed: 0 } }),
    ).toBe('approval.approvals_needed: must be at least 1');
    expect(
      problemOf({ ...approvalDecision, approval: { ...approvalDecision.approval, ttl_seconds: 0 } }),
    ).toBe('approval.ttl_seconds: must be at least 1');
  });

  it('enforces bounds and integer numbers', () => {
    expect(problemOf({ ...allowDecision, reasons: [] })).toBe('reasons: too small (min 1)');
    expect(problemOf({ ...allowDecision, reasons: [''] })).toBe('reasons.0: too small (min 1)');
    const many = Array.from({ length: DECISION_LIMITS.maxReasons + 1 }, (_, i) => `r${i}`);
    expect(problemOf({ ...allowDecision, reasons: many })).toBe(
      `reasons: too big (max ${DECISION_LIMITS.maxReasons})`,
    );
    expect(
      problemOf({ ...approvalDecision, approval: { ...approvalDecision.approval, ttl_seconds: 1.5 } }),
    ).toBe('approval.ttl_seconds: expected int');
    expect(
      problemOf({ ...approvalDecision, approval: { ...approvalDecision.approval, ttl_seconds: -1 } }),
    ).toBe('approval.ttl_seconds: too small (min 0)');
  });
});

describe('parseDecision fast path', () => {
  const paths = [
    [],
    ['allow'],
    ['reasons'],
    ['reasons', 0],
    ['approval'],
    ['approval', 'required'],
    ['approval', 'groups'],
    ['approval', 'groups', 0],
    ['approval', 'approvals_needed'],
    ['approval', 'ttl_seconds'],
    ['approval', 'reuse_seconds'],
    ['mask'],
    ['mask', 'columns'],
    ['mask', 'columns', 0],
    ['mask', 'fields'],
    ['mask', 'detectors'],
    ['mask', 'detectors', 0],
    ['audit'],
    ['grants_used'],
    ['grants_used', 0],
  ] as const;
  const values: unknown[] = [
    undefined,
    null,
    '',
    'x',
    'sync',
    'card',
    0,
    -1,
    1,
    1.5,
    900,
    DECISION_LIMITS.maxSeconds + 1,
    Number.MAX_SAFE_INTEGER + 2,
    true,
    false,
    [],
    [''],
    ['x'],
    ['card', 'email', 'phone', 'secret', 'national_id', 'card'],
    {},
    { extra: 1 },
    'x'.repeat(DECISION_LIMITS.maxNameLength + 1),
  ];

  function mutate(base: unknown, rnd: () => number): unknown {
    if (base === null || typeof base !== 'object') return base;
    const copy = structuredClone(base) as Record<string, unknown>;
    const path = paths[Math.floor(rnd() * paths.length)]!;
    const value = values[Math.floor(rnd() * values.length)];
    if (path.length === 0) return rnd() < 0.5 ? { ...copy, unknown_field: value } : value;
    let target: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (next === null || typeof next !== 'object') return copy;
      target = next as Record<string | number, unknown>;
    }
    const last = path[path.length - 1]!;
    if (value === undefined && rnd() < 0.5) delete target[last];
    else target[last] = value;
    return copy;
  }

  it('accepts exactly what the schema accepts, with the same problem text', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const bases = [allowDecision, approvalDecision, { ...allowDecision, grants_used: ['ap-1'] }];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      let value: unknown = bases[i % bases.length];
      for (let m = 0; m <= i % 3; m++) value = mutate(value, rnd);
      const schema = decisionSchema.safeParse(value);
      const parsed = parseDecision(value);
      expect(parsed.ok, JSON.stringify(value)).toBe(schema.success);
      if (parsed.ok) {
        accepted++;
        expect(parsed.decision).toEqual(schema.data);
      }
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('never accepts inherited fields', () => {
    const inherited = Object.assign(Object.create({ audit: 'sync' }) as object, {
      allow: true,
      reasons: ['r'],
      approval: allowDecision.approval,
      mask: allowDecision.mask,
    });
    expect(parseDecision(inherited).ok).toBe(decisionSchema.safeParse(inherited).success);
  });
});

describe('failClosedDecision', () => {
  it('is a complete, valid deny with the cause in the reason', () => {
    const decision = failClosedDecision('wasm trap: unreachable');
    expect(decision).toEqual({
      allow: false,
      reasons: ['policy evaluation failed: wasm trap: unreachable'],
      approval: { required: false, groups: [], approvals_needed: 0, ttl_seconds: 0, reuse_seconds: 0 },
      mask: { columns: [], fields: [], detectors: ['card', 'email', 'national_id', 'phone', 'secret'] },
      audit: 'sync',
    });
    expect(parseDecision(decision).ok).toBe(true);
  });

  it('returns a fresh object each time', () => {
    const a = failClosedDecision('x');
    expect(failClosedDecision('x')).not.toBe(a);
    expect(failClosedDecision('x').mask.detectors).not.toBe(a.mask.detectors);
  });

  it('keeps causes to one bounded line', () => {
    expect(shortCause('first line\nsecond line')).toBe('first line');
    expect(shortCause('  \n')).toBe('unknown error');
    const long = shortCause('x'.repeat(1000));
    expect(long).toHaveLength(200);
    expect(long.endsWith('…')).toBe(true);
  });
});
