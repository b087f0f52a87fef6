import { GatehouseError } from '../errors.js';

/** A signing or verification key could not be loaded (bad PEM, not Ed25519, bad key id). Never contains key bytes. */
export class SigningKeyError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_SIGNING_KEY', message, options);
  }
}
