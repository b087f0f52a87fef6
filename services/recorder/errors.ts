import { GatehouseError } from '../shared/errors.js';

/** A value cannot be written as a ClickHouse literal (e.g. a non-integer number, an invalid identifier). */
export class SqlQuoteError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_SQL_QUOTE', message);
  }
}

/** ClickHouse answered with an error or could not be reached. Carries the server's error code, never the query. */
export class ClickHouseError extends GatehouseError {
  /** ClickHouse's numeric error code (`Code: 60` …), when the server sent one. */
  readonly serverCode: number | undefined;
  /** Whether retrying the same request later can succeed (network errors, overload). */
  readonly retriable: boolean;

  constructor(message: string, opts: { serverCode?: number; retriable: boolean; cause?: unknown }) {
    super('GH_ERR_CLICKHOUSE', message, { cause: opts.cause });
    this.serverCode = opts.serverCode;
    this.retriable = opts.retriable;
  }
}

/** A schema migration file is malformed, or an applied migration was changed afterwards. */
export class MigrationError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_MIGRATION', message, options);
  }
}

/** The recorder was stopped while work was still waiting (the work is not committed and will be redelivered). */
export class RecorderStoppedError extends GatehouseError {
  constructor() {
    super('GH_ERR_RECORDER_STOPPED', 'recorder stopped before the batch was written');
  }
}

/** The replay API answered with an error, or could not be reached (CLI side). */
export class ReplayApiError extends GatehouseError {
  readonly status: number | undefined;

  constructor(message: string, opts: { status?: number; cause?: unknown } = {}) {
    super('GH_ERR_REPLAY_API', message, { cause: opts.cause });
    this.status = opts.status;
  }
}

/** Command-line arguments are invalid. */
export class UsageError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_USAGE', message);
  }
}
