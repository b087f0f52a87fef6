import type { ColumnReference } from './lineage/lineage-types.js';
/**
 * What the gateway knows about one SQL text, as handed to policy (`input.request.sql`). Field names are
 * snake_case because they are part of the policy contract. What each field means, with every case, is documented
 * once, for policy authors, in policies/README.md (`input.request.sql`); the comments here are the short form, and
 * the descriptions of the generated JSON Schema (policies/input.schema.json, `npm run policy:schema`).
 */
export interface SqlAnalysis {
  readonly text: string;
  /** One entry per statement, in order; empty for an empty query and on a parse error. */
  readonly statements: readonly SqlStatementAnalysis[];
  /** The parser's message when `text` is not valid SQL (then `statements` is empty), else null. */
  readonly parse_error: string | null;
}

/** One statement (`input.request.sql.statements[]`, the policy contract's `SqlStatement`). */
export interface SqlStatementAnalysis {
  /**
   * Lower-case command: 'select', 'insert', 'update', 'delete', 'merge', 'create_table', 'create_table_as' (also
   * SELECT … INTO), 'create_view', 'create_index', 'alter_table', 'drop', 'truncate', 'copy', 'begin', 'commit',
   * 'rollback', 'set', 'reset', 'show', 'explain', 'grant', 'revoke', 'call', 'do', 'vacuum', …; other commands
   * are the parser node name in snake_case without '_stmt'.
   */
  readonly type: string;
  /** The statement's own source text (a slice of `sql.text`, trimmed, without the terminating ';'). */
  readonly text: string;
  /** Tables read, lower case, schema-qualified when written so (`public.users`, `users`). */
  readonly reads: readonly string[];
  /** Tables written (INSERT/UPDATE/DELETE/MERGE/COPY FROM/TRUNCATE targets, DDL objects); not repeated in `reads`. */
  readonly writes: readonly string[];
  /** UPDATE/DELETE: whether a WHERE clause is present (WHERE CURRENT OF counts). false for other types. */
  readonly has_where: boolean;
  /** Schema change: CREATE/ALTER/DROP/COMMENT/TRUNCATE, SELECT INTO and the like. */
  readonly ddl: boolean;
  /** Functions called, lower case, schema-qualified when written so (`pg_catalog.pg_read_file`), CALL targets too. */
  readonly functions: readonly string[];
  /** true only when the statement provably changes nothing (see policies/README.md). */
  readonly read_only: boolean;
  /** Kind of object for DDL/GRANT/REVOKE/DROP ('table', 'view', 'index', 'function', 'schema', …), else null. */
  readonly object_type: string | null;
  /** Runs code the gateway cannot see; then also `ddl: true`, `read_only: false` (write + DDL). */
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
   * Every column the statement references, resolved through aliases, subqueries, CTEs and views to its base table
   * (`{table: 'public.customers', column: 'email', position: 'where'}`; table '' when unknown, column '*' for a
   * whole-row reference). Added by the lineage analysis (LineageCache), absent from the catalog-free analysis.
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
