import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine } from '../../services/gateway/policy/engine.js';
import type { PolicyEngine } from '../../services/gateway/policy/engine.js';
import { PolicyLoadError } from '../../services/gateway/policy/errors.js';
import { loadPolicyBundle } from '../../services/gateway/policy/load-bundle.js';
import type { PolicyInput, PolicyResult, SqlStatement } from '../../services/gateway/policy/types.js';
import { buildBundle, buildPolicy, OPA, sh, VALID_DECISION_REGO, writePolicy } from './policy-helpers.js';
import { agent, human, sqlInput, stmt } from './policy-inputs.js';

// The gateway's policy engine fails closed: every failure is a deny with `failedClosed: true`, never a throw.

let engine: PolicyEngine;
let work: string;
let bundleDir: string;

beforeAll(async () => {
  if (!existsSync(OPA))
    throw new Error(`opa binary not found at ${OPA}: run \`npm run stack:up\` or set OPA_BIN`);
  work = mkdtempSync(join(tmpdir(), 'gh-policy-fail-'));
  bundleDir = join(work, 'bundle');
  await buildBundle(bundleDir);
  engine = await loadPolicyBundle(bundleDir);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function failure(result: PolicyResult): { code: string; message: string } {
  if (!result.failedClosed)
    throw new Error(`expected a fail-closed result, got ${JSON.stringify(result.decision)}`);
  return result.failure;
}

describe('fail closed', () => {
  it('denies when the policy returns a malformed decision', async () => {
    const cases: [string, string, string][] = [
      ['not-boolean', 'decision := {"allow": "yes"}', 'malformed decision (allow: expected boolean)'],
      ['not-object', 'decision := "allow everything"', 'malformed decision (decision: expected object)'],
      [
        'allow-and-approval',
        `decision := object.union(${VALID_DECISION_REGO}, {"allow": true, "approval": {"required": true, "groups": ["dba"], "approvals_needed": 1, "ttl_seconds": 60, "reuse_seconds": 0}})`,
        'malformed decision (approval.required: must be false when allow is true)',
      ],
      [
        'unknown-detector',
        `decision := object.union(${VALID_DECISION_REGO}, {"mask": {"columns": [], "fields": [], "detectors": ["dna"]}})`,
        'malformed decision (mask.detectors.0: not an allowed value)',
      ],
    ];
    for (const [name, rego, cause] of cases) {
      const broken = await loadPolicyBundle(await buildPolicy(work, name, rego));
      const result = broken.evaluate(sqlInput(human, []));
      expect(failure(result)).toEqual({ code: 'GH_ERR_POLICY_DECISION_INVALID', message: cause });
      expect(result.decision.allow).toBe(false);
      expect(result.decision.reasons).toEqual([`policy evaluation failed: ${cause}`]);
      expect(result.decision.audit).toBe('sync');
    }
  });

  it('denies when the decision is undefined', async () => {
    const undefinedPolicy = await loadPolicyBundle(
      await buildPolicy(work, 'undefined', `decision := ${VALID_DECISION_REGO} if input.never_set == true`),
    );
    const result = undefinedPolicy.evaluate(sqlInput(human, []));
    expect(failure(result)).toEqual({
      code: 'GH_ERR_POLICY_DECISION_UNDEFINED',
      message: 'the policy returned no decision',
    });
  });

  it('denies on an evaluation error and recovers for the next request', async () => {
    // Two values for one complete rule: OPA aborts evaluation with a conflict error.
    const rego = [
      `decision := ${VALID_DECISION_REGO} if input.request.kind == "sql"`,
      `decision := object.union(${VALID_DECISION_REGO}, {"reasons": ["other"]}) if input.request.fingerprint == "conflict"`,
    ].join('\n');
    const conflicting = await loadPolicyBundle(await buildPolicy(work, 'conflict', rego));
    const base = sqlInput(human, []);
    const result = conflicting.evaluate({ ...base, request: { ...base.request, fingerprint: 'conflict' } });
    expect(failure(result).code).toBe('GH_ERR_POLICY_EVAL_FAILED');
    expect(failure(result).message).toMatch(/^policy aborted: .*conflict/);
    expect(result.decision.allow).toBe(false);
    const next = conflicting.evaluate(base);
    expect(next.failedClosed).toBe(false);
    expect(next.decision.reasons).toEqual(['r']);
  });

  it('denies inputs over the size limit without evaluating them', async () => {
    const small = await loadPolicyBundle(bundleDir, { maxInputBytes: 4096 });
    const big = sqlInput(human, [stmt('select', `SELECT '${'x'.repeat(5000)}'`, true)]);
    expect(failure(small.evaluate(big))).toEqual({
      code: 'GH_ERR_POLICY_INPUT_TOO_LARGE',
      message: 'input exceeds 4096 bytes',
    });
    expect(small.evaluate(sqlInput(human, [stmt('select', 'SELECT 1', true)])).decision.allow).toBe(true);
  });

  it('denies when wasm memory runs out, then recovers', async () => {
    const tight = await loadPolicyBundle(bundleDir, { maxMemoryPages: 40, maxInputBytes: 64 * 1024 * 1024 });
    const statements: SqlStatement[] = Array.from({ length: 4000 }, (_, i) =>
      stmt('select', `SELECT ${i} FROM customers WHERE id = ${i}`, true),
    );
    const result = tight.evaluate(sqlInput(agent, statements));
    expect(failure(result).code).toBe('GH_ERR_POLICY_EVAL_FAILED');
    expect(tight.evaluate(sqlInput(agent, [stmt('select', 'SELECT 1', true)])).decision.allow).toBe(true);
  });

  it('denies input that cannot be encoded, and never throws', () => {
    const input = { ...sqlInput(human, []), extra: 1n } as unknown as PolicyInput;
    expect(failure(engine.evaluate(input))).toEqual({
      code: 'GH_ERR_POLICY_INPUT_INVALID',
      message: 'input cannot be encoded as JSON',
    });
    const nothing = engine.evaluate(undefined as unknown as PolicyInput);
    expect(failure(nothing).code).toBe('GH_ERR_POLICY_INPUT_INVALID');
    const empty = engine.evaluate({} as PolicyInput);
    expect(empty.failedClosed).toBe(false);
    expect(empty.decision.allow).toBe(false);
    expect(empty.decision.reasons).toEqual(['identity is missing', 'request kind is missing']);
  });

  it('refuses to load broken wasm, a wrong entrypoint or a module needing unsupported built-ins', async () => {
    const wasm = readFileSync(join(bundleDir, 'policy.wasm'));
    const data = readFileSync(join(bundleDir, 'data.json'));
    const truncated = await createPolicyEngine({ wasm: wasm.subarray(0, 1000), data }).catch(
      (e: unknown) => e,
    );
    expect(truncated).toBeInstanceOf(PolicyLoadError);
    expect((truncated as PolicyLoadError).code).toBe('GH_ERR_POLICY_WASM_INVALID');

    const wrong = await createPolicyEngine({ wasm, data }, { entrypoint: 'gatehouse/main/allow' }).catch(
      (e: unknown) => e,
    );
    expect((wrong as PolicyLoadError).code).toBe('GH_ERR_POLICY_ENTRYPOINT_MISSING');
    expect((wrong as PolicyLoadError).message).toBe(
      'policy.wasm has no entrypoint "gatehouse/main/allow" (it has: gatehouse/main/decision)',
    );

    // Built without the capabilities file, a policy may compile a call the engine cannot evaluate.
    const src = writePolicy(
      work,
      'no-caps',
      `decision := object.union(${VALID_DECISION_REGO}, {"allow": time.now_ns() > 0})`,
    );
    const tarball = join(work, 'no-caps.tar.gz');
    const built = await sh(OPA, ['build', '-t', 'wasm', '-e', 'gatehouse/main/decision', '-o', tarball, src]);
    expect(built.code, built.stderr).toBe(0);
    const unpacked = join(work, 'no-caps');
    mkdirSync(unpacked);
    expect((await sh('tar', ['-xzf', tarball, '-C', unpacked])).code).toBe(0);
    const err = await loadPolicyBundle(unpacked).catch((e: unknown) => e);
    expect((err as PolicyLoadError).code).toBe('GH_ERR_POLICY_UNSUPPORTED_BUILTIN');
    expect((err as PolicyLoadError).message).toContain('time.now_ns');
  });
});
