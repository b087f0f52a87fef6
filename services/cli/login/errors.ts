import { AuthError, GatehouseError } from '../../shared/errors.js';

/** `gatehouse login`, `logout`, `psql` or `ssh` was called wrongly (exit 2 with the usage). */
export class LoginUsageError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_LOGIN_USAGE', message);
  }
}

/** No token could be obtained: the provider is unreachable or refused, the login was denied or timed out. */
export class LoginError extends AuthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_LOGIN', message, options);
  }
}

/** No usable cached token for the issuer, and none can be renewed without the user. */
export class NotLoggedInError extends AuthError {
  constructor(issuer: string, reason?: string) {
    super(
      'GH_ERR_NOT_LOGGED_IN',
      `not logged in at ${issuer}${reason ? ` (${reason})` : ''}: run \`gatehouse login\``,
    );
  }
}

/** The token cache file cannot be used. The message names the file, never a token. */
export class TokenCacheError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_TOKEN_CACHE', message, options);
  }
}

/** The client program `gatehouse psql`/`ssh` runs cannot be started (not installed, not executable). */
export class ClientExecError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_CLIENT_EXEC', message, options);
  }
}
