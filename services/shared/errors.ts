import type { ErrorCode, ErrorCodeOf } from './error-catalog/index.js';

export type { ErrorCode, ErrorCodeOf, ErrorFamily } from './error-catalog/index.js';

type ErrorOptions = { cause?: unknown };

/**
 * Base class of every Gatehouse error. `code` is one of the catalog's codes (`error-catalog/`), stable and never
 * reused; messages are safe to show to operators and never contain tokens, credentials or payloads.
 *
 * Callers that must tell kinds apart test a family with `instanceof` (`AuditUnavailableError`, `PolicyError`,
 * `ProtocolError`, `AuthError`), never a prefix of `code`.
 */
export class GatehouseError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The audit log cannot take the work (buffer full, Kafka gone, not acknowledged, closed, refused): fail closed. */
export class AuditUnavailableError extends GatehouseError {
  declare readonly code: ErrorCodeOf<'audit'>;

  constructor(code: ErrorCodeOf<'audit'>, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** A policy bundle cannot be loaded or used as the decision asks. */
export class PolicyError extends GatehouseError {
  declare readonly code: ErrorCodeOf<'policy'>;

  constructor(code: ErrorCodeOf<'policy'>, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** Bytes on a wire or in a record do not follow their protocol. */
export class ProtocolError extends GatehouseError {
  declare readonly code: ErrorCodeOf<'protocol'>;

  constructor(code: ErrorCodeOf<'protocol'>, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** A token or login was refused, or the identity provider cannot be asked. */
export class AuthError extends GatehouseError {
  declare readonly code: ErrorCodeOf<'auth'>;

  constructor(code: ErrorCodeOf<'auth'>, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
