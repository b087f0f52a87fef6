import { createHash } from 'node:crypto';

/** Hex digits of the sha256 kept as the bundle revision (policies/build.sh writes the same). */
export const REVISION_LENGTH = 16;

/** sha256(policy.wasm || data.json), hex, full length. The revision is its first REVISION_LENGTH digits. */
export function bundleDigest(wasm: Uint8Array, data: Uint8Array): string {
  return createHash('sha256').update(wasm).update(data).digest('hex');
}

export function bundleRevision(wasm: Uint8Array, data: Uint8Array): string {
  return bundleDigest(wasm, data).slice(0, REVISION_LENGTH);
}
