import { AuthError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { Identity } from './identity.js';

/** Stable codes of token verification failures. Never reused; safe to show to a client. */
export const TokenErrorCode = {
  invalid: 'GH_ERR_TOKEN_INVALID',
  expired: 'GH_ERR_TOKEN_EXPIRED',
  audience: 'GH_ERR_TOKEN_AUDIENCE',
  jwksUnavailable: 'GH_ERR_JWKS_UNAVAILABLE',
} as const satisfies Record<string, ErrorCode>;

export type TokenErrorCode = (typeof TokenErrorCode)[keyof typeof TokenErrorCode];

/**
 * A presented token was not accepted. The message is short and client-safe. Neither the message nor the `cause`
 * ever contains the token or any part of it (header, claims, signature): causes are rebuilt from library error
 * codes, never passed through, because library errors may carry the decoded payload in enumerable fields.
 */
export class TokenError extends AuthError {
  declare readonly code: TokenErrorCode;
  /**
   * The identity the token claims, set only when its signature verified with the issuer's key and a claim check
   * failed afterwards (expired, not yet valid, wrong audience): who tried, for the audit of refused logins. Never
   * set for an unverified token. Not enumerable, so it never reaches a serialised error.
   */
  declare readonly verifiedIdentity: Identity | undefined;

  constructor(
    code: TokenErrorCode,
    message: string,
    options?: { cause?: unknown; verifiedIdentity?: Identity },
  ) {
    super(code, message, options);
    Object.defineProperty(this, 'verifiedIdentity', { value: options?.verifiedIdentity, enumerable: false });
  }
}

/** Fetching identity-provider metadata, keys or a token failed. `reason` is stable; no body is ever included. */
export class IdentityFetchError extends AuthError {
  readonly reason: 'timeout' | 'network' | 'http_status' | 'too_large' | 'not_json' | 'invalid';

  constructor(reason: IdentityFetchError['reason'], message: string, options?: { cause?: unknown }) {
    super('GH_ERR_IDENTITY_FETCH', message, options);
    this.reason = reason;
  }
}
