import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createPolicyEngine } from './engine.js';
import type { PolicyEngine, PolicyEngineOptions } from './engine.js';
import { PolicyLoadError, PolicyLoadErrorCode } from './errors.js';
import { bundleDigest, REVISION_LENGTH } from './revision.js';

/** The files policies/build.sh writes into a bundle folder. */
export const BUNDLE_FILES = { wasm: 'policy.wasm', data: 'data.json', revision: 'revision' } as const;

/** Largest policy.wasm / data.json accepted. */
export const MAX_WASM_BYTES = 64 * 1024 * 1024;
export const MAX_DATA_BYTES = 64 * 1024 * 1024;
const MAX_REVISION_BYTES = 256;

/**
 * Loads the bundle folder written by `policies/build.sh` (policy.wasm, data.json, revision) into a
 * `PolicyEngine`. The revision file must match the files' digest (it is recomputed when absent), so a half-written
 * folder is never loaded under the wrong revision. Throws `PolicyLoadError`.
 */
export async function loadPolicyBundle(
  dir: string,
  options: PolicyEngineOptions = {},
): Promise<PolicyEngine> {
  const wasm = await readBounded(join(dir, BUNDLE_FILES.wasm), MAX_WASM_BYTES);
  const data = await readBounded(join(dir, BUNDLE_FILES.data), MAX_DATA_BYTES);
  const declared = await readBounded(join(dir, BUNDLE_FILES.revision), MAX_REVISION_BYTES, {
    optional: true,
  });
  const digest = bundleDigest(wasm, data);
  let revision = digest.slice(0, REVISION_LENGTH);
  if (declared !== undefined) {
    const text = Buffer.from(declared).toString('utf8').trim();
    if (!/^[0-9a-f]{16,64}$/.test(text) || !digest.startsWith(text)) {
      throw new PolicyLoadError(
        PolicyLoadErrorCode.revisionMismatch,
        `${join(dir, BUNDLE_FILES.revision)} does not match policy.wasm and data.json (expected ${revision}); rebuild with policies/build.sh`,
      );
    }
    revision = text;
  }
  return createPolicyEngine({ wasm, data, revision }, options);
}

async function readBounded(
  path: string,
  max: number,
  how: { optional: true },
): Promise<Uint8Array | undefined>;
async function readBounded(path: string, max: number): Promise<Uint8Array>;
async function readBounded(
  path: string,
  max: number,
  how?: { optional: true },
): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && how?.optional) return undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PolicyLoadError(
        PolicyLoadErrorCode.bundleNotFound,
        `policy bundle file ${path} not found (build the bundle with policies/build.sh)`,
        { cause: err },
      );
    }
    throw new PolicyLoadError(
      PolicyLoadErrorCode.bundleUnreadable,
      `cannot open policy bundle file ${path} (${code ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
  try {
    const { size } = await handle.stat();
    if (size > max) {
      throw new PolicyLoadError(
        PolicyLoadErrorCode.bundleUnreadable,
        `policy bundle file ${path} is ${size} bytes, more than the limit of ${max}`,
      );
    }
    const buffer = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(buffer, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    if (offset !== size) {
      throw new PolicyLoadError(
        PolicyLoadErrorCode.bundleUnreadable,
        `policy bundle file ${path} changed while being read`,
      );
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, size);
  } catch (err) {
    if (err instanceof PolicyLoadError) throw err;
    throw new PolicyLoadError(
      PolicyLoadErrorCode.bundleUnreadable,
      `cannot read policy bundle file ${path}`,
      { cause: err },
    );
  } finally {
    await handle.close();
  }
}
