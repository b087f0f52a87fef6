import type { Identity } from '../identity/index.js';
import { TokenError, TokenErrorCode } from '../identity/index.js';
import { WebAuthError, WebAuthErrorCode } from './errors.js';

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i;

/** The `WWW-Authenticate` challenge of a 401 (RFC 6750): with `error="invalid_token"` when a token was refused. */
export function bearerChallenge(realm: string, invalidToken: boolean): string {
  return invalidToken ? `Bearer realm="${realm}", error="invalid_token"` : `Bearer realm="${realm}"`;
}

/** The token of an `Authorization: Bearer …` header, or undefined when there is none (or it is malformed). */
export function bearerToken(authorization: string | undefined): string | undefined {
  return BEARER.exec(authorization ?? '')?.[1];
}

/** Allowed when the identity is in at least one of the groups. */
export function requireGroup(identity: Identity, allowedGroups: readonly string[]): Identity {
  if (identity.groups.some((g) => allowedGroups.includes(g))) return identity;
  throw new WebAuthError(
    WebAuthErrorCode.forbidden,
    403,
    `access requires membership in one of the groups: ${allowedGroups.join(', ')}`,
  );
}

/** Verifies a bearer token: 401 for a missing or invalid one, 503 when the provider's keys are unavailable. */
export async function verifyBearer(
  authorization: string | undefined,
  verify: (token: string) => Promise<Identity>,
): Promise<Identity> {
  const token = bearerToken(authorization);
  if (token === undefined) {
    throw new WebAuthError(
      WebAuthErrorCode.unauthenticated,
      401,
      'an access token is required: Authorization: Bearer <token>',
    );
  }
  try {
    return await verify(token);
  } catch (err) {
    if (err instanceof TokenError && err.code === TokenErrorCode.jwksUnavailable) {
      throw new WebAuthError(WebAuthErrorCode.idpUnavailable, 503, 'the identity provider is unavailable');
    }
    const message = err instanceof TokenError ? err.message : 'token could not be verified';
    throw new WebAuthError(WebAuthErrorCode.unauthenticated, 401, `access token rejected: ${message}`);
  }
}
