import { ProtocolError } from '../errors.js';

/**
 * SQLSTATE the gateway should send to the client when it rejects the connection because of a protocol error:
 * `08P01` protocol_violation, `54000` program_limit_exceeded (message too large), `0A000` feature_not_supported
 * (unsupported protocol version).
 */
export type PgProtocolSqlState = '08P01' | '54000' | '0A000';

/**
 * Malformed, truncated, oversized or unknown PostgreSQL wire-protocol input. The message names the message type
 * and the sizes involved, never payload bytes (which may hold passwords or tokens). After this error the byte
 * stream is no longer framed: the connection must be closed (after a FATAL ErrorResponse with `sqlstate`).
 */
export class PgProtocolError extends ProtocolError {
  readonly sqlstate: PgProtocolSqlState;

  constructor(message: string, sqlstate: PgProtocolSqlState = '08P01', options?: { cause?: unknown }) {
    super('GH_ERR_PG_PROTOCOL', message, options);
    this.sqlstate = sqlstate;
  }
}
