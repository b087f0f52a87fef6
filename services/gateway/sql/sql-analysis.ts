import type { ColumnReference } from './lineage/lineage-types.js';
/**
 * What the gateway knows about one SQL text, as handed to policy (`input.request.sql`). Field names are
 * snake_case because they are part of the policy contract. What each field means, with every case, is documented
 * once, for policy authors, in policies/README.md (`input.request.sql`); the comments here only name the fields.
 */
export interface SqlAnalysis {
  readonly text: string;
  /** One entry per statement, in order; empty for an empty query and on a parse error. */
  readonly statements: readonly SqlStatementAnalysis[];
  /** The parser's message when `text` is not valid SQL (then `statements` is empty), else null. */
  readonly parse_error: string | null;
}

export interface SqlStatementAnalysis {
  /** Lower-case command ('select', 'create_table', …). */
  readonly type: string;
  /** The statement's source text (trimmed, without the terminating ';'). */
  readonly text: string;
  /** Tables read. */
  readonly reads: readonly string[];
  /** Relations changed (not repeated in `reads`). */
  readonly writes: readonly string[];
  /** UPDATE/DELETE with a WHERE clause. */
  readonly has_where: boolean;
  /** Schema change. */
  readonly ddl: boolean;
  /** Functions called (lower-case, schema-qualified when written so), including CALL targets. */
  readonly functions: readonly string[];
  /** True only when the statement provably changes nothing. */
  readonly read_only: boolean;
  /** Kind of object for DDL, GRANT/REVOKE and DROP, else null. */
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
