import { GatehouseError } from '../../errors.js';

/** The embedded event log cannot be opened or used (folder locked by another process, unreadable positions). */
export class EmbeddedLogError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_EMBEDDED_LOG', message, options);
  }
}
