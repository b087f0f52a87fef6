import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicyEngine } from './engine.js';
import { PolicyLoadError } from './errors.js';
import { loadPolicyBundle } from './load-bundle.js';
import { bundleRevision } from './revision.js';

// Load failures that need no compiled policy. Decisions of the real policy are tested in
// test/integration/policy-engine.test.ts (it needs the opa binary to build the bundle).

/** The smallest valid WebAssembly module: magic + version, no sections. */
const EMPTY_MODULE = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const DATA = Buffer.from('{"gatehouse":{"config":{}}}');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gh-policy-unit-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function loadError(promise: Promise<unknown>): Promise<PolicyLoadError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PolicyLoadError);
  return err as PolicyLoadError;
}

describe('loadPolicyBundle failures', () => {
  it('reports a missing bundle folder or file', async () => {
    const err = await loadError(loadPolicyBundle(join(dir, 'nope')));
    expect(err.code).toBe('GH_ERR_POLICY_BUNDLE_NOT_FOUND');
    expect(err.message).toContain(join(dir, 'nope', 'policy.wasm'));
    expect(err.message).toContain('policies/build.sh');

    writeFileSync(join(dir, 'policy.wasm'), EMPTY_MODULE);
    const noData = await loadError(loadPolicyBundle(dir));
    expect(noData.code).toBe('GH_ERR_POLICY_BUNDLE_NOT_FOUND');
    expect(noData.message).toContain('data.json');
  });

  it('rejects bytes that are not WebAssembly', async () => {
    writeFileSync(join(dir, 'policy.wasm'), 'this is not wasm');
    writeFileSync(join(dir, 'data.json'), DATA);
    const err = await loadError(loadPolicyBundle(dir));
    expect(err.code).toBe('GH_ERR_POLICY_WASM_INVALID');
    expect(err.message).toBe('policy.wasm is not a valid WebAssembly module');
  });

  it('rejects a valid module that is not an OPA policy', async () => {
    writeFileSync(join(dir, 'policy.wasm'), EMPTY_MODULE);
    writeFileSync(join(dir, 'data.json'), DATA);
    const err = await loadError(loadPolicyBundle(dir));
    expect(err.code).toBe('GH_ERR_POLICY_WASM_INVALID');
    expect(err.message).toMatch(/^policy\.wasm is not an OPA policy module \(missing exports: opa_eval, /);
  });

  it('rejects data.json that is not a JSON object', async () => {
    writeFileSync(join(dir, 'policy.wasm'), EMPTY_MODULE);
    for (const bad of ['{"unterminated": ', '[1, 2]', 'null', '\xff\xfe']) {
      writeFileSync(join(dir, 'data.json'), bad, 'latin1');
      const err = await loadError(loadPolicyBundle(dir));
      expect(err.code).toBe('GH_ERR_POLICY_DATA_INVALID');
    }
  });

  it('rejects a revision file that does not match the files', async () => {
    writeFileSync(join(dir, 'policy.wasm'), EMPTY_MODULE);
    writeFileSync(join(dir, 'data.json'), DATA);
    writeFileSync(join(dir, 'revision'), '0123456789abcdef\n');
    const err = await loadError(loadPolicyBundle(dir));
    expect(err.code).toBe('GH_ERR_POLICY_REVISION_MISMATCH');
    expect(err.message).toContain(`expected ${bundleRevision(EMPTY_MODULE, DATA)}`);
  });

  it('rejects invalid options with every problem named', async () => {
    const err = await loadError(
      createPolicyEngine({ wasm: EMPTY_MODULE, data: DATA }, { maxInputBytes: 10, maxMemoryPages: 1.5 }),
    );
    expect(err.code).toBe('GH_ERR_POLICY_OPTIONS_INVALID');
    expect(err.message).toContain('maxInputBytes');
    expect(err.message).toContain('maxMemoryPages');
    const order = await loadError(
      createPolicyEngine({ wasm: EMPTY_MODULE, data: DATA }, { initialMemoryPages: 64, maxMemoryPages: 32 }),
    );
    expect(order.message).toContain('initialMemoryPages (64) exceeds maxMemoryPages (32)');
  });
});

describe('createPolicyEngine inputs', () => {
  it('accepts data held in a view of a larger buffer (pooled Node Buffers)', async () => {
    const pool = Buffer.alloc(4096, 0x20);
    DATA.copy(pool, 1000);
    const view = pool.subarray(1000, 1000 + DATA.length);
    const err = await loadError(createPolicyEngine({ wasm: EMPTY_MODULE, data: view }));
    // Got past data validation to the wasm check.
    expect(err.code).toBe('GH_ERR_POLICY_WASM_INVALID');
  });
});
