import { GatehouseError } from '../../services/shared/errors.js';

/** The signing key file cannot be read, parsed or written. The message names the file, never key material. */
export class IdpKeysError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_IDP_KEYS', message, options);
  }
}

/** The dev IdP could not start (port taken, bad options). */
export class IdpStartError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_IDP_START', message, options);
  }
}

/**
 * A token request was refused or failed. `oauthError` is the RFC 6749 `error` code when the server sent one.
 * Never carries the client secret or an issued token.
 */
export class IdpTokenRequestError extends GatehouseError {
  readonly oauthError: string | undefined;

  constructor(message: string, oauthError?: string, options?: { cause?: unknown }) {
    super('GH_ERR_IDP_TOKEN_REQUEST', message, options);
    this.oauthError = oauthError;
  }
}

/** Command-line arguments or token request options are invalid. */
export class IdpUsageError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_IDP_USAGE', message);
  }
}
