import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  BUNDLE_FILES,
  createPolicyEngine,
  loadPolicyBundle,
  PolicyLoadError,
  PolicyLoadErrorCode,
} from '../../gateway/index.js';
import type { PolicyEngine } from '../../gateway/index.js';
import { repoFile } from './repo-file.js';

/** A compiled bundle that loaded in the gateway's engine. */
export type BuiltBundle = {
  readonly wasm: Uint8Array;
  readonly data: Uint8Array;
  readonly revision: string;
  readonly engine: PolicyEngine;
};

/** policies/build.sh, found upwards from this module (source tree and dist/ alike) unless the env names one. */
function buildScript(env: Readonly<Record<string, string | undefined>>): string {
  if (env.GATEHOUSE_POLICY_BUILD_SCRIPT) return env.GATEHOUSE_POLICY_BUILD_SCRIPT;
  const script = repoFile(join('policies', 'build.sh'));
  if (script === undefined)
    throw new PolicyLoadError(PolicyLoadErrorCode.bundleNotFound, 'policies/build.sh not found');
  return script;
}

/** Runs a program; resolves with its exit status and stderr (never rejects). */
function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, _stdout, stderr) => {
      resolvePromise({ ok: err === null, stderr });
    });
  });
}

/**
 * Builds `dir` into a bundle and loads it in the gateway's engine, exactly as a node would: a folder holding
 * `policy.wasm` is taken as built (policies/build.sh output); otherwise it is Rego sources, compiled with
 * policies/build.sh (opa, the WASM capabilities, the `gatehouse/main/decision` entrypoint). Throws PolicyLoadError
 * with opa's own message (unsupported built-ins, a wrong entrypoint, a parse error) or the engine's.
 */
export async function buildBundle(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs = 120_000,
): Promise<BuiltBundle> {
  const src = resolve(dir);
  if (!existsSync(src)) {
    throw new PolicyLoadError(PolicyLoadErrorCode.bundleNotFound, `policy folder ${src} does not exist`);
  }
  if (existsSync(join(src, BUNDLE_FILES.wasm))) return loaded(src);
  const out = await mkdtemp(join(tmpdir(), 'gatehouse-policy-'));
  try {
    const built = await run('bash', [buildScript(env), out, src], { ...process.env, ...env }, timeoutMs);
    if (!built.ok) {
      throw new PolicyLoadError(
        PolicyLoadErrorCode.wasmInvalid,
        `opa build failed for ${src}:\n${built.stderr.trim().split('\n').slice(-20).join('\n')}`,
      );
    }
    return await loaded(out);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

async function loaded(dir: string): Promise<BuiltBundle> {
  const engine = await loadPolicyBundle(dir);
  const wasm = new Uint8Array(await readFile(join(dir, BUNDLE_FILES.wasm)));
  const data = new Uint8Array(await readFile(join(dir, BUNDLE_FILES.data)));
  return { wasm, data, revision: engine.revision, engine };
}

/** Loads bundle bytes (from a record) in the engine: the same check a node makes before swapping. */
export async function checkLoads(
  wasm: Uint8Array,
  data: Uint8Array,
  revision: string,
): Promise<PolicyEngine> {
  return createPolicyEngine({ wasm, data, revision });
}
