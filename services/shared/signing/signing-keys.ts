import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { SigningKeyError } from './errors.js';

/** Key ids name keys in config and on every signed decision: short, printable, no separators that need quoting. */
export const keyIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id is 1-64 characters of A-Z a-z 0-9 . _ -');

/** A pinned public key: SPKI PEM text, or the 32-byte raw Ed25519 key in base64url (as in a JWK's `x`). */
export const publicKeyTextSchema = z.string().min(1);

/** The private key that signs decisions, with the id verifiers know it by. */
export type SigningKey = { readonly keyId: string; readonly privateKey: KeyObject };

/** Public keys by key id: what a verifier trusts. */
export type TrustedKeys = ReadonlyMap<string, KeyObject>;

function assertEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SigningKeyError(`${what} is a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not Ed25519`);
  }
  return key;
}

/** Loads an Ed25519 private key from PKCS#8 PEM text (as `openssl genpkey -algorithm ed25519` writes it). */
export function loadSigningKey(keyId: string, pem: string): SigningKey {
  const id = keyIdSchema.safeParse(keyId);
  if (!id.success) throw new SigningKeyError(`bad signing key id: ${id.error.issues[0]?.message ?? ''}`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    // The cause of a PEM parse error holds no key bytes, only OpenSSL's reason.
    throw new SigningKeyError(`signing key ${keyId} is not a PEM private key`, { cause });
  }
  return { keyId, privateKey: assertEd25519(privateKey, `signing key ${keyId}`) };
}

/** Parses one pinned public key (SPKI PEM, or raw base64url). */
export function loadPublicKey(keyId: string, text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    key = trimmed.startsWith('-----BEGIN')
      ? createPublicKey({ key: trimmed, format: 'pem' })
      : createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: trimmed }, format: 'jwk' });
  } catch (cause) {
    throw new SigningKeyError(`trusted key ${keyId} is neither SPKI PEM nor a base64url Ed25519 key`, {
      cause,
    });
  }
  return assertEd25519(key, `trusted key ${keyId}`);
}

/** The pinned key set from config (`kid -> public key text`). Every problem is reported with its key id. */
export function loadTrustedKeys(entries: Readonly<Record<string, string>>): TrustedKeys {
  const keys = new Map<string, KeyObject>();
  for (const [kid, text] of Object.entries(entries)) {
    const id = keyIdSchema.safeParse(kid);
    if (!id.success) throw new SigningKeyError(`bad trusted key id ${JSON.stringify(kid.slice(0, 64))}`);
    keys.set(kid, loadPublicKey(kid, text));
  }
  return keys;
}

/** The public half of a signing key in the raw base64url form `trustedKeys` accepts. */
export function publicKeyText(key: SigningKey | KeyObject): string {
  const k = 'keyId' in key ? createPublicKey(key.privateKey) : key;
  const jwk = k.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new SigningKeyError('not an Ed25519 key');
  return jwk.x;
}
