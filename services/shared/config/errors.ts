import { GatehouseError } from '../errors.js';

/** Configuration is invalid. `issues` lists every problem with the path of the bad field. */
export class ConfigError extends GatehouseError {
  readonly issues: readonly string[];

  constructor(source: string, issues: readonly string[], options?: { cause?: unknown }) {
    super('GH_ERR_CONFIG', `invalid configuration in ${source}:\n  - ${issues.join('\n  - ')}`, options);
    this.issues = issues;
  }
}

export class SecretUnavailableError extends GatehouseError {
  constructor(ref: string, options?: { cause?: unknown }) {
    super('GH_ERR_SECRET_UNAVAILABLE', `secret ${ref} is not available`, options);
  }
}
