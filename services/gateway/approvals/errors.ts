import { GatehouseError } from '../../shared/errors.js';

/** The approvals topic cannot be read (the waiter did not join or catch up in time). */
export class ApprovalLogUnavailableError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_APPROVAL_LOG_UNAVAILABLE', message, options);
  }
}
