import { GatehouseError, ProtocolError } from '../errors.js';

/** Bytes read from the log are not a valid event. */
export class EventDecodeError extends ProtocolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_EVENT_DECODE', message, options);
  }
}

/** An event cannot be brought under the event size bound (its envelope alone is too large). */
export class EventTooLargeError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_EVENT_TOO_LARGE', message, options);
  }
}
