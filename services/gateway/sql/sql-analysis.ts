/**
 * What the gateway knows about one SQL text, as handed to policy (`input.request.sql`). Field names are
 * snake_case because they are part of the policy contract.
 */
export interface SqlAnalysis {
  readonly text: string;
  /** One entry per statement, in order; empty for an empty query and on a parse error. */
  readonly statements: readonly SqlStatementAnalysis[];
  /** The parser's message when `text` is not valid SQL (then `statements` is empty), else null. */
  readonly parse_error: string | null;
}

export interface SqlStatementAnalysis {
  /**
   * Lower-case command: 'select', 'insert', 'update', 'delete', 'merge', 'create_table', 'create_table_as' (also
   * SELECT … INTO), 'create_view', 'create_index', 'drop', 'alter_table', 'truncate', 'copy', 'begin', 'commit',
   * 'rollback', 'savepoint', 'set', 'reset', 'show', 'explain', 'grant', 'revoke', 'call', 'do', 'vacuum', …
   * Unlisted commands are the parser's node name in snake_case without '_stmt'.
   */
  readonly type: string;
  /** The statement's source text (trimmed, without the terminating ';'). */
  readonly text: string;
  /** Tables read (FROM, JOIN, subqueries, CTE bodies, COPY TO, INSERT … SELECT sources); CTE names excluded. */
  readonly reads: readonly string[];
  /**
   * Tables or other relations changed: INSERT/UPDATE/DELETE/MERGE targets (also inside CTEs), TRUNCATE, COPY FROM,
   * SELECT INTO, CREATE/ALTER/DROP targets, GRANT/REVOKE on tables. A table in `writes` is not repeated in
   * `reads`.
   */
  readonly writes: readonly string[];
  /** UPDATE/DELETE with a WHERE clause. */
  readonly has_where: boolean;
  /** Schema change: CREATE/ALTER/DROP/COMMENT/TRUNCATE and the like. */
  readonly ddl: boolean;
  /** Functions called (lower-case, schema-qualified when written so), including CALL targets. */
  readonly functions: readonly string[];
  /**
   * True only when the statement provably changes nothing: SELECT/VALUES/TABLE without INTO, without FOR
   * UPDATE/SHARE, without data-modifying CTEs, calling only allow-listed functions, operators and casts; SHOW;
   * EXPLAIN without ANALYZE (or with ANALYZE of a read-only statement); BEGIN/COMMIT/ROLLBACK/SAVEPOINT/RELEASE;
   * COPY … TO STDOUT of a read-only source; DECLARE of a read-only query, FETCH, MOVE, CLOSE, DEALLOCATE.
   * Views, triggers and user-defined operators are invisible here: run read-only sessions in READ ONLY
   * transactions as well.
   */
  readonly read_only: boolean;
  /** Kind of object for DDL/GRANT ('table', 'view', 'index', 'function', 'schema', …), else null. */
  readonly object_type: string | null;
}
