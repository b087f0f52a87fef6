import { AuthError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

/** Stable codes of HTTP authentication. Never reused. */
export const WebAuthErrorCode = {
  /** No credentials, or a bearer token / session that is not valid (HTTP 401). */
  unauthenticated: 'GH_ERR_UNAUTHENTICATED',
  /** Authenticated, but not in an allowed group (HTTP 403). */
  forbidden: 'GH_ERR_FORBIDDEN',
  /** The identity provider's keys or endpoints cannot be reached (HTTP 503). */
  idpUnavailable: 'GH_ERR_IDP_UNAVAILABLE',
  /** The OIDC login redirect came back wrong (state, PKCE, code) or the provider refused it (HTTP 400). */
  loginFailed: 'GH_ERR_WEB_LOGIN_FAILED',
} as const satisfies Record<string, ErrorCode>;

export type WebAuthErrorCode = (typeof WebAuthErrorCode)[keyof typeof WebAuthErrorCode];

/** An authentication failure with a client-safe message (never token or cookie content). */
export class WebAuthError extends AuthError {
  declare readonly code: WebAuthErrorCode;
  readonly status: 400 | 401 | 403 | 503;

  constructor(
    code: WebAuthErrorCode,
    status: WebAuthError['status'],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.status = status;
  }
}
