import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { PROJECT_ROOT, stackEnv } from '../support/stack.js';

/** Helpers for the policy tests: the opa binary, policies/build.sh, throw-away policies. */

const run = promisify(execFile);

/** OPA_BIN from the environment, else from .stack/env, else the stack's install location. */
function opaBin(): string {
  if (process.env['OPA_BIN']) return process.env['OPA_BIN'];
  try {
    const fromStack = stackEnv()['OPA_BIN'];
    if (fromStack) return fromStack;
  } catch {
    // no .stack/env: fall through
  }
  return join(PROJECT_ROOT, '.stack', 'bin', 'opa');
}

export const OPA = opaBin();
export const BUILD_SCRIPT = join(PROJECT_ROOT, 'policies', 'build.sh');
export const POLICY_SRC = join(PROJECT_ROOT, 'policies', 'gatehouse');

export type Outcome = { code: number; stdout: string; stderr: string };

/** Runs a program with OPA_BIN set; never throws, returns the exit code and output. */
export async function sh(file: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, args, {
      env: { ...process.env, OPA_BIN: OPA },
      timeout: 60_000,
      maxBuffer: 4 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Builds policies/gatehouse (or `src`) into `out` with policies/build.sh and asserts success. */
export async function buildBundle(out: string, src?: string): Promise<void> {
  const result = await sh('bash', src === undefined ? [BUILD_SCRIPT, out] : [BUILD_SCRIPT, out, src]);
  expect(result.code, result.stderr).toBe(0);
}

/** Writes a one-file policy package `gatehouse.main` under `work` and returns its source folder. */
export function writePolicy(work: string, name: string, rego: string): string {
  const src = join(work, 'src', name, 'gatehouse');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'main.rego'), `package gatehouse.main\n\n${rego}\n`);
  return src;
}

/** Builds a throw-away policy with policies/build.sh and returns the bundle folder. */
export async function buildPolicy(work: string, name: string, rego: string): Promise<string> {
  const out = join(work, 'out', name);
  await buildBundle(out, writePolicy(work, name, rego));
  return out;
}

/** A complete, valid decision as Rego source, for throw-away policies. */
export const VALID_DECISION_REGO = `{"allow": false, "reasons": ["r"], "approval": {"required": false, "groups": [], "approvals_needed": 0, "ttl_seconds": 0, "reuse_seconds": 0}, "mask": {"columns": [], "fields": [], "detectors": []}, "audit": "sync"}`;
