import { isIP } from 'node:net';
import * as oidc from 'openid-client';
import type { CachedToken } from './token-cache.js';
import { LoginError, LoginUsageError } from './errors.js';

/** Seconds every request to the identity provider may take. */
const REQUEST_TIMEOUT_SECONDS = 10;

export type ClientSettings = {
  issuer: string;
  clientId: string;
  /** Confidential clients (client credentials) only. Never cached, logged or printed. */
  clientSecret?: string;
};

/** True for `http:` URLs on a loopback host, the only place a plain-HTTP provider is allowed (a local dev IdP). */
function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** The issuer as a URL: https, or http on loopback only (tokens must not cross a network in clear). */
export function issuerUrl(issuer: string): URL {
  const url = URL.parse(issuer);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new LoginUsageError(`the issuer must be an https URL, got ${JSON.stringify(issuer)}`);
  }
  if (url.protocol === 'http:' && !isLoopback(url)) {
    throw new LoginUsageError(
      `refusing plain-HTTP issuer ${url.origin}: only loopback providers may use http`,
    );
  }
  return url;
}

/** Discovers the provider (OIDC Discovery) and returns an `openid-client` configuration for the client. */
export async function discoverClient(settings: ClientSettings): Promise<oidc.Configuration> {
  const url = issuerUrl(settings.issuer);
  try {
    return await oidc.discovery(
      url,
      settings.clientId,
      undefined,
      settings.clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(settings.clientSecret),
      {
        timeout: REQUEST_TIMEOUT_SECONDS,
        ...(url.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
      },
    );
  } catch (err) {
    throw new LoginError(`cannot read the provider's metadata at ${url.origin}: ${describe(err)}`, {
      cause: err,
    });
  }
}

/** A provider error as one safe line: its OAuth `error` and description, never a token or secret. */
export function describe(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError) {
    return err.error_description ? `${err.error}: ${err.error_description}` : err.error;
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    const p = err.cause[0]?.parameters;
    if (p?.error) return p.error_description ? `${p.error}: ${p.error_description}` : p.error;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The cache entry for a token response. */
export function toCached(
  settings: ClientSettings,
  grant: CachedToken['grant'],
  res: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  extra: Pick<CachedToken, 'scope' | 'resource' | 'clientSecretFile' | 'refreshToken'> = {},
): CachedToken {
  const expiresIn = res.expiresIn();
  return {
    issuer: settings.issuer,
    clientId: settings.clientId,
    grant,
    accessToken: res.access_token,
    expiresAt: expiresIn === undefined ? 0 : Math.floor(Date.now() / 1000) + expiresIn,
    ...(res.refresh_token !== undefined
      ? { refreshToken: res.refresh_token }
      : extra.refreshToken
        ? { refreshToken: extra.refreshToken }
        : {}),
    ...(extra.scope !== undefined ? { scope: extra.scope } : {}),
    ...(extra.resource !== undefined ? { resource: extra.resource } : {}),
    ...(extra.clientSecretFile !== undefined ? { clientSecretFile: extra.clientSecretFile } : {}),
  };
}
