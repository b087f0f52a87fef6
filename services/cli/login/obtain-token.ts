import { readFile } from 'node:fs/promises';
import { GatehouseError } from '../../shared/errors.js';
import { NotLoggedInError } from './errors.js';
import { clientCredentialsLogin, refreshLogin } from './flows.js';
import type { CachedToken } from './token-cache.js';
import type { TokenCache } from './token-cache.js';

/** A token expiring sooner than this is renewed first: the gateway must still accept it at the handshake. */
const MIN_REMAINING_SECONDS = 60;

/** Reads a client secret from `$GATEHOUSE_CLIENT_SECRET` or a file (first line), never from an argument. */
export async function readClientSecret(
  env: NodeJS.ProcessEnv,
  file: string | undefined,
): Promise<string | undefined> {
  if (file !== undefined) return (await readFile(file, 'utf8')).split('\n')[0]?.trim() || undefined;
  return env.GATEHOUSE_CLIENT_SECRET || undefined;
}

function fresh(t: CachedToken, nowSeconds: number): boolean {
  return t.expiresAt === 0 || t.expiresAt - nowSeconds > MIN_REMAINING_SECONDS;
}

/**
 * A usable access token for `issuer` (the last login's when undefined): the cached one while it is fresh, else one
 * renewed without the user (refresh token; client credentials with the secret from env or its file), saved back.
 * Throws `NotLoggedInError` when the user has to log in again.
 */
export async function obtainToken(
  cache: TokenCache,
  issuer: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<CachedToken> {
  const cached = await cache.get(issuer);
  const name = issuer ?? 'the last issuer';
  if (!cached) throw new NotLoggedInError(name);
  if (fresh(cached, Math.floor(Date.now() / 1000))) return cached;
  let renewed: CachedToken | undefined;
  try {
    if (cached.refreshToken !== undefined) {
      renewed = await refreshLogin({ ...cached, refreshToken: cached.refreshToken });
    } else if (cached.grant === 'client_credentials') {
      const clientSecret = await readClientSecret(env, cached.clientSecretFile);
      if (clientSecret !== undefined) {
        renewed = await clientCredentialsLogin({
          issuer: cached.issuer,
          clientId: cached.clientId,
          clientSecret,
          clientSecretFile: cached.clientSecretFile,
          scope: cached.scope ?? '',
          resource: cached.resource,
          timeoutMs: 0,
        });
      }
    }
  } catch (err) {
    throw new NotLoggedInError(cached.issuer, err instanceof GatehouseError ? err.message : 'renewal failed');
  }
  if (!renewed) throw new NotLoggedInError(cached.issuer, 'the token expired and cannot be renewed');
  await cache.put(renewed);
  return renewed;
}
