import { GatehouseError } from '../../shared/errors.js';

/** A synchronous SQL helper was called before `loadSqlParser()` resolved. */
export class SqlParserNotLoadedError extends GatehouseError {
  constructor() {
    super('GH_ERR_SQL_PARSER_NOT_LOADED', 'the SQL parser is not loaded: await loadSqlParser() at start-up');
  }
}
