import type { ErrorCode, ErrorCodeOf, ErrorFamily } from './error-catalog/index.js';

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

/** A base class whose `code` is one of the family's codes (checked by the compiler at every `new`). */
function familyBase<F extends ErrorFamily>() {
  return class extends GatehouseError {
    declare readonly code: ErrorCodeOf<F>;

    constructor(code: ErrorCodeOf<F>, message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
}

/** The audit log cannot take the work (buffer full, Kafka gone, not acknowledged, closed, refused): fail closed. */
export class AuditUnavailableError extends familyBase<'audit'>() {}

/** A policy bundle cannot be loaded or used as the decision asks. */
export class PolicyError extends familyBase<'policy'>() {}

/** Bytes on a wire or in a record do not follow their protocol. */
export class ProtocolError extends familyBase<'protocol'>() {}

/** A token or login was refused, or the identity provider cannot be asked. */
export class AuthError extends familyBase<'auth'>() {}
