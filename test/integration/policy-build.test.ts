import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_SCRIPT, buildBundle, OPA, sh, writePolicy } from './policy-helpers.js';

// policies/build.sh: outputs, revision, reproducibility, and refusal of built-ins the WASM engine lacks.

let work: string;
let bundleDir: string;

beforeAll(async () => {
  if (!existsSync(OPA))
    throw new Error(`opa binary not found at ${OPA}: run \`npm run stack:up\` or set OPA_BIN`);
  work = mkdtempSync(join(tmpdir(), 'gh-policy-build-'));
  bundleDir = join(work, 'bundle');
  await buildBundle(bundleDir);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('policies/build.sh', () => {
  it('writes policy.wasm, data.json, the revision and a manifest carrying it', () => {
    const revision = readFileSync(join(bundleDir, 'revision'), 'utf8').trim();
    expect(revision).toMatch(/^[0-9a-f]{16}$/);
    const manifest = JSON.parse(readFileSync(join(bundleDir, '.manifest'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest['revision']).toBe(revision);
    expect(manifest['wasm']).toEqual([{ entrypoint: 'gatehouse/main/decision', module: '/policy.wasm' }]);
    const data = JSON.parse(readFileSync(join(bundleDir, 'data.json'), 'utf8')) as {
      gatehouse: { config: { pii: { columns: string[] } } };
    };
    expect(data.gatehouse.config.pii.columns).toContain('customers.ssn');
  });

  it('is reproducible: the same sources give the same revision', async () => {
    const again = join(work, 'bundle-again');
    await buildBundle(again);
    expect(readFileSync(join(again, 'revision'), 'utf8')).toBe(
      readFileSync(join(bundleDir, 'revision'), 'utf8'),
    );
  });

  it.each([
    [
      'http.send',
      'decision := {"allow": http.send({"method": "GET", "url": "http://127.0.0.1:9"}).status_code == 200}',
    ],
    ['net.lookup_ip_addr', 'decision := {"allow": count(net.lookup_ip_addr("localhost")) > 0}'],
    ['time.now_ns', 'decision := {"allow": time.now_ns() > 0}'],
  ])('fails with a clear message for the unsupported built-in %s', async (builtin, rego) => {
    const out = join(work, 'out', `bad-${builtin}`);
    const result = await sh('bash', [BUILD_SCRIPT, out, writePolicy(work, `bad-${builtin}`, rego)]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`undefined function ${builtin}`);
    expect(result.stderr).toContain(
      `'${builtin}' is not a built-in the gateway's WASM policy engine supports (supported built-ins: policies/capabilities.json)`,
    );
    expect(existsSync(join(out, 'policy.wasm'))).toBe(false);
  });

  it('fails with a clear message when the opa binary is missing', async () => {
    const result = await sh('bash', [
      '-c',
      `OPA_BIN=${join(work, 'no-opa')} bash ${BUILD_SCRIPT} ${join(work, 'x')}`,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`opa binary not found at '${join(work, 'no-opa')}'`);
  });
});
