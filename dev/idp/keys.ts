import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { IdpKeysError } from './errors.js';

/** A private JWK set as oidc-provider's `jwks` option takes it. */
export type PrivateJwks = { keys: JWK[] };

const SIGNING_ALG = 'RS256';

/** Generates one RS256 (2048-bit) signing key with `kid` = its RFC 7638 thumbprint. */
export async function generateSigningKeys(): Promise<PrivateJwks> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { keys: [{ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' }] };
}

function parseJwks(text: string, file: string): PrivateJwks {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new IdpKeysError(`signing key file ${file} is not JSON`);
  }
  const keys = (raw as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new IdpKeysError(`signing key file ${file} has no "keys"`);
  for (const key of keys as unknown[]) {
    const k = key as JWK | null;
    if (!k || typeof k !== 'object' || typeof k.kid !== 'string' || typeof k.d !== 'string') {
      throw new IdpKeysError(`signing key file ${file} must hold private JWKs with a "kid"`);
    }
  }
  if (!(keys as JWK[]).some((k) => k.kty === 'RSA' && (k.alg === undefined || k.alg === SIGNING_ALG))) {
    throw new IdpKeysError(`signing key file ${file} has no ${SIGNING_ALG} key`);
  }
  return { keys: keys as JWK[] };
}

/**
 * Loads the private signing keys from `file`, or generates them and saves them there (mode 0600) when the file does
 * not exist, so a restarted IdP keeps its keys and tokens stay valid. Creation is atomic and race-free: the keys
 * are written to a temporary file and hard-linked into place; a concurrent creator's keys win and are loaded.
 * Without `file`, fresh keys are generated in memory.
 */
export async function loadOrCreateSigningKeys(file?: string): Promise<PrivateJwks> {
  if (file === undefined) return generateSigningKeys();
  try {
    return parseJwks(await readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof IdpKeysError) throw err;
      throw new IdpKeysError(`cannot read signing key file ${file}`, { cause: err });
    }
  }
  const jwks = await generateSigningKeys();
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(tmp, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await link(tmp, file);
    return jwks;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return parseJwks(await readFile(file, 'utf8'), file);
    throw new IdpKeysError(`cannot write signing key file ${file}`, { cause: err });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
