import { GatehouseError } from '../errors.js';

export class EventDecodeError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_EVENT_DECODE', message, options);
  }
}
