import { GatehouseError } from '../../shared/errors.js';
import type { ErrorCode } from '../../shared/errors.js';

/**
 * An error the Postgres client may see: `sqlstate` and `message` go into an ErrorResponse. Messages never contain
 * upstream addresses, credentials or tokens.
 */
export class PgClientError extends GatehouseError {
  readonly sqlstate: string;
  readonly severity: 'ERROR' | 'FATAL';

  constructor(
    code: ErrorCode,
    sqlstate: string,
    message: string,
    options?: { cause?: unknown; severity?: 'ERROR' | 'FATAL' },
  ) {
    super(code, message, options);
    this.sqlstate = sqlstate;
    this.severity = options?.severity ?? 'ERROR';
  }
}

/** The upstream database could not be reached or refused the gateway's own login. */
export class UpstreamUnavailableError extends PgClientError {
  constructor(connection: string, options?: { cause?: unknown }) {
    super('GH_ERR_PG_UPSTREAM', '08006', `upstream for connection "${connection}" is unavailable`, {
      ...options,
      severity: 'FATAL',
    });
  }
}
