import type { Identity } from '../identity/index.js';
import { TokenError, TokenErrorCode } from '../identity/index.js';
import { WebAuthError, WebAuthErrorCode } from './errors.js';

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i;

/** What a 401's `WWW-Authenticate: Bearer` challenge says (RFC 6750; `resource_metadata` from RFC 9728). */
export type BearerChallenge = {
  realm?: string;
  /** The protected resource's metadata URL (OAuth 2.1 protected resources: MCP). */
  resourceMetadata?: string;
  /** A token was presented and refused: `error="invalid_token"`, with the reason as its description when given. */
  invalidToken?: boolean;
  description?: string;
};

/** A parameter value as an HTTP quoted-string; quotes, backslashes and line breaks become spaces. */
const quoted = (s: string): string => `"${s.replace(/["\\\r\n]/g, ' ')}"`;

/** The `WWW-Authenticate` header value of a 401. */
export function bearerChallenge(c: BearerChallenge): string {
  const parts: string[] = [];
  if (c.realm !== undefined) parts.push(`realm=${quoted(c.realm)}`);
  if (c.resourceMetadata !== undefined) parts.push(`resource_metadata=${quoted(c.resourceMetadata)}`);
  if (c.invalidToken) {
    parts.push('error="invalid_token"');
    if (c.description !== undefined) parts.push(`error_description=${quoted(c.description)}`);
  }
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`;
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
