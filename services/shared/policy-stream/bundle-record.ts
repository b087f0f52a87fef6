import { createHash, sign, verify } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { PolicyError } from '../errors.js';
import type { ErrorCodeOf } from '../errors.js';
import type { SigningKey, TrustedKeys } from '../signing/signing-keys.js';
import { keyIdSchema } from '../signing/signing-keys.js';

/**
 * One record of the `gatehouse.policies` topic (compacted, one partition): a signed, self-contained policy bundle.
 *
 * Keys: `active` (the revision every node runs), `shadow` (a candidate nodes evaluate alongside; `kind:
 * "shadow-clear"` ends it) and `revision:<rev>` (the archive a rollback republishes from). Compaction keeps the
 * newest record of each key, so a node that starts later reads the newest `active` and `shadow`.
 *
 * Value: JSON `{v: 1, claims, keyId, signature, bundle}` where `bundle` is base64 of gzip(u32be wasm length ‖ wasm
 * ‖ data). The Ed25519 signature covers the canonical claims, which name the sha256 of the wasm and of the data:
 * a node takes a record only when the signature verifies with a pinned key and the bytes match the claims.
 */
export const POLICY_RECORD_KEYS = { active: 'active', shadow: 'shadow' } as const;
export const REVISION_KEY_PREFIX = 'revision:';

/** What a record asks nodes to do. */
export const RECORD_KINDS = ['activate', 'shadow', 'shadow-clear', 'archive'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/** Largest decompressed bundle accepted (wasm + data). */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

const SIGNING_DOMAIN = 'gatehouse-policy-bundle/v1\n';
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const bundleClaimsSchema = z.strictObject({
  kind: z.enum(RECORD_KINDS),
  revision: z.string().regex(/^[0-9a-f]{16,64}$/),
  wasmSha256: hex64,
  dataSha256: hex64,
  /** The publisher, from a verified OIDC token. */
  author: z.strictObject({ sub: z.string().min(1).max(256), groups: z.array(z.string().max(256)).max(256) }),
  message: z.string().max(4096),
  /** Milliseconds since the epoch. */
  publishedAt: z.number().int().nonnegative(),
  /** Set when the record republishes an earlier revision (`gatehouse policy publish --revision`). */
  rollback: z.boolean(),
});
export type BundleClaims = z.output<typeof bundleClaimsSchema>;

const recordSchema = z.strictObject({
  v: z.literal(1),
  claims: bundleClaimsSchema,
  keyId: keyIdSchema,
  signature: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/),
  bundle: z.string().max(MAX_BUNDLE_BYTES),
});

/** A verified record: claims, and the bundle bytes they name. */
export type PolicyRecord = {
  readonly claims: BundleClaims;
  readonly keyId: string;
  readonly wasm: Uint8Array;
  readonly data: Uint8Array;
};

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256(policy.wasm || data.json), hex: a bundle's revision is its first 16 digits (policies/build.sh). */
export function bundleDigestOf(wasm: Uint8Array, data: Uint8Array): string {
  return createHash('sha256').update(wasm).update(data).digest('hex');
}

const RECORD_INVALID = 'GH_ERR_POLICY_RECORD_INVALID';
const RECORD_UNVERIFIED = 'GH_ERR_POLICY_RECORD_UNVERIFIED';

/** Canonical bytes of the claims (fixed key order), prefixed by the signing domain. */
function canonicalClaims(c: BundleClaims, keyId: string): Buffer {
  const ordered = {
    keyId,
    kind: c.kind,
    revision: c.revision,
    wasmSha256: c.wasmSha256,
    dataSha256: c.dataSha256,
    author: { sub: c.author.sub, groups: [...c.author.groups] },
    message: c.message,
    publishedAt: c.publishedAt,
    rollback: c.rollback,
  };
  return Buffer.from(SIGNING_DOMAIN + JSON.stringify(ordered), 'utf8');
}

/** The claims for a bundle: digests and revision computed from the bytes. */
export function claimsFor(
  bundle: { wasm: Uint8Array; data: Uint8Array; revision?: string },
  rest: Pick<BundleClaims, 'kind' | 'author' | 'message' | 'publishedAt' | 'rollback'>,
): BundleClaims {
  return {
    ...rest,
    revision: bundle.revision ?? bundleDigestOf(bundle.wasm, bundle.data).slice(0, 16),
    wasmSha256: sha256(bundle.wasm),
    dataSha256: sha256(bundle.data),
  };
}

/** Signs and encodes one record value. */
export function encodePolicyRecord(
  claims: BundleClaims,
  bundle: { wasm: Uint8Array; data: Uint8Array },
  key: SigningKey,
): Buffer {
  const packed = Buffer.alloc(4 + bundle.wasm.byteLength + bundle.data.byteLength);
  packed.writeUInt32BE(bundle.wasm.byteLength, 0);
  packed.set(bundle.wasm, 4);
  packed.set(bundle.data, 4 + bundle.wasm.byteLength);
  const signature = sign(null, canonicalClaims(claims, key.keyId), key.privateKey).toString('base64url');
  const value = {
    v: 1,
    claims,
    keyId: key.keyId,
    signature,
    bundle: gzipSync(packed).toString('base64'),
  };
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function refuse(code: ErrorCodeOf<'policy'>, message: string): never {
  throw new PolicyError(code, message);
}

/**
 * Decodes and verifies one record value: shape, a pinned key, the signature over the claims, and the bundle bytes
 * against the digests and the revision the claims name. Throws `PolicyError` (`GH_ERR_POLICY_RECORD_INVALID` or
 * `GH_ERR_POLICY_RECORD_UNVERIFIED`); never returns bytes it could not verify.
 */
export function decodePolicyRecord(value: Uint8Array, keys: TrustedKeys): PolicyRecord {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch {
    refuse(RECORD_INVALID, 'the policy record is not JSON');
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    refuse(
      RECORD_INVALID,
      `the policy record is malformed (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown'})`,
    );
  }
  const { claims, keyId, signature } = parsed.data;
  const key = keys.get(keyId);
  if (!key) refuse(RECORD_UNVERIFIED, `the record is signed with key ${keyId}, which is not pinned`);
  let valid = false;
  try {
    valid = verify(null, canonicalClaims(claims, keyId), key, Buffer.from(signature, 'base64url'));
  } catch {
    valid = false; // a malformed signature is simply invalid
  }
  if (!valid) refuse(RECORD_UNVERIFIED, `the record's signature does not verify with key ${keyId}`);
  let packed: Buffer;
  try {
    packed = gunzipSync(Buffer.from(parsed.data.bundle, 'base64'), { maxOutputLength: MAX_BUNDLE_BYTES });
  } catch {
    refuse(RECORD_INVALID, 'the record holds no readable bundle (gzip)');
  }
  if (packed.byteLength < 4) refuse(RECORD_INVALID, 'the record holds no bundle');
  const wasmLength = packed.readUInt32BE(0);
  if (wasmLength > packed.byteLength - 4) refuse(RECORD_INVALID, 'the record bundle is truncated');
  const wasm = new Uint8Array(packed.subarray(4, 4 + wasmLength));
  const data = new Uint8Array(packed.subarray(4 + wasmLength));
  if (sha256(wasm) !== claims.wasmSha256 || sha256(data) !== claims.dataSha256) {
    refuse(RECORD_UNVERIFIED, 'the bundle bytes do not match the signed digests');
  }
  if (!bundleDigestOf(wasm, data).startsWith(claims.revision)) {
    refuse(RECORD_UNVERIFIED, `the bundle is not revision ${claims.revision}`);
  }
  return { claims, keyId, wasm, data };
}
