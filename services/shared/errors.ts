/**
 * Base class of every Gatehouse error. `code` is stable (`GH_ERR_*`) and never reused; messages are safe to show
 * to operators and never contain tokens, credentials or payloads.
 */
export class GatehouseError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
