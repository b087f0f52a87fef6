import type { ColumnReference } from './lineage/lineage-types.js';
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
  /**
   * Runs code the gateway cannot see: DO, CALL, LOAD, EXPLAIN ANALYZE, CREATE … AS / SELECT INTO, COPY … PROGRAM,
   * CREATE TRIGGER/RULE, or a function, operator or cast off the allow-lists (user code: it may run dynamic SQL or
   * change settings). An opaque statement is also `ddl: true` and `read_only: false` (write + DDL).
   */
  readonly opaque: boolean;
  /** Every setting the statement changes (SET, RESET, set_config(), function SET clauses, ALTER … SET, …). */
  readonly settings: readonly SettingChange[];
  /**
   * The prepared statement or cursor name the statement creates, uses or drops; null for other statements. For
   * EXECUTE/FETCH/MOVE (and protocol-level Bind/Execute) the statement's other fields are those of the statement
   * the name stands for (see `postgres/name-registry.ts`).
   */
  readonly name_ref: NameRef | null;
  /**
   * Every column referenced, resolved to base tables with the catalog, and where (policy input; see
   * sql/lineage). Added by the lineage analysis (LineageCache), absent from the catalog-free analysis.
   */
  readonly columns?: readonly ColumnReference[];
}

export type SettingScope = 'session' | 'local' | 'function' | 'role' | 'database' | 'system';

/** One setting change. `name` and `value` are null when not constant (`set_config(x, …)`, pg_settings writes). */
export interface SettingChange {
  /** Lower-case parameter name; null for RESET ALL / DISCARD ALL and when unknown. */
  readonly name: string | null;
  /** The value as the server reads it (list values joined with ', '); null for RESET and when not constant. */
  readonly value: string | null;
  readonly action: 'set' | 'reset' | 'reset_all';
  /** 'local' = SET LOCAL / set_config(…, true) / SET TRANSACTION; 'function' = a CREATE/ALTER FUNCTION SET clause. */
  readonly scope: SettingScope;
}

export interface NameRef {
  readonly op: 'prepare' | 'execute' | 'deallocate' | 'declare' | 'fetch' | 'move' | 'close' | 'discard';
  /** 'statement': a prepared statement; 'cursor': a cursor/portal; 'all': every prepared statement and cursor. */
  readonly kind: 'statement' | 'cursor' | 'all';
  /** The name; null for DEALLOCATE ALL, CLOSE ALL, DISCARD ALL. */
  readonly name: string | null;
  /** DECLARE … WITH HOLD (survives the transaction). */
  readonly hold: boolean;
  /** PREPARE/DECLARE: the analysed statement the name will stand for. */
  readonly statement: SqlStatementAnalysis | null;
  /** EXECUTE/FETCH/MOVE: true when the gateway knew the name; false when it did not (decided as opaque). */
  readonly known: boolean | null;
}
