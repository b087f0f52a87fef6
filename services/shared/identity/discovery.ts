import { IdentityFetchError } from './errors.js';
import { fetchJson } from './fetch-json.js';

/** The parts of OpenID Provider metadata Gatehouse uses. */
export type ProviderMetadata = {
  issuer: string;
  jwks_uri: string;
  token_endpoint?: string;
};

/** `${issuer}/.well-known/openid-configuration`, without doubling a trailing slash. */
export function wellKnownUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const url = URL.parse(value);
  return url && (url.protocol === 'https:' || url.protocol === 'http:') ? url.href : undefined;
}

/**
 * Fetches and checks OpenID Provider metadata (OIDC Discovery 1.0 §4.3: the `issuer` it states must equal the
 * issuer it was fetched for, exactly). Throws `IdentityFetchError` when the metadata cannot be fetched or is
 * unusable.
 */
export async function discoverProvider(issuer: string, timeoutMs: number): Promise<ProviderMetadata> {
  const { status, body } = await fetchJson(wellKnownUrl(issuer), {
    timeoutMs,
    init: { headers: { accept: 'application/json' } },
  });
  if (status !== 200) throw new IdentityFetchError('http_status', `discovery returned HTTP ${status}`);
  if (body === null || typeof body !== 'object')
    throw new IdentityFetchError('invalid', 'discovery is not an object');
  const meta = body as Record<string, unknown>;
  if (meta['issuer'] !== issuer) {
    throw new IdentityFetchError('invalid', 'discovery "issuer" does not match the configured issuer');
  }
  const jwksUri = httpUrl(meta['jwks_uri']);
  if (!jwksUri) throw new IdentityFetchError('invalid', 'discovery has no valid "jwks_uri"');
  const tokenEndpoint = httpUrl(meta['token_endpoint']);
  return { issuer, jwks_uri: jwksUri, ...(tokenEndpoint ? { token_endpoint: tokenEndpoint } : {}) };
}
