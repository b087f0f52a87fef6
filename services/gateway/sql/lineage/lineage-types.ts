/*
 * Column lineage: which base-table columns an output column's value is derived from. Computed from the parse tree
 * and the catalog once per statement text (see lineage-cache.ts), never per row.
 */

/**
 * Where a value comes from: base columns as `schema.table.column` (lower case), and `opaque` when the gateway
 * cannot tell (unknown relation, user code, a catalog view holding sampled values): an opaque lineage is masked
 * whenever the request is subject to column masking (fail closed).
 */
export interface Lineage {
  readonly cols: ReadonlySet<string>;
  readonly opaque: boolean;
}

/**
 * Where a column is referenced: `select` only for a plain column (or `*`) in a SELECT's select list; `expression`
 * for anything computed in a select list; `write` for values flowing into INSERT/UPDATE/CREATE … AS/SELECT INTO;
 * the others name their clause.
 */
export type RefPosition =
  | 'select'
  | 'expression'
  | 'where'
  | 'join'
  | 'group_by'
  | 'having'
  | 'order_by'
  | 'window'
  | 'distinct'
  | 'limit'
  | 'from_function'
  | 'returning'
  | 'write'
  | 'other';

/**
 * One column reference, resolved through aliases, subqueries, CTEs and views to a base column (part of the policy
 * input, hence snake_case). `table` is `schema.table`, or '' when the relation is unknown; `column` is '*' for a
 * whole-row reference.
 */
export interface ColumnReference {
  readonly table: string;
  readonly column: string;
  readonly position: RefPosition;
}

/** A name the session knows whose statement decides the result (EXECUTE name, FETCH FROM cursor). */
export interface NamedStatementRef {
  readonly kind: 'prepared' | 'cursor';
  readonly name: string;
}

export interface StatementLineage {
  /** One entry per output column in order; null when the number of columns cannot be known. */
  readonly outputs: readonly Lineage[] | null;
  /** Union of the outputs (what every column gets when `outputs` is null). */
  readonly outputUnion: Lineage;
  /** Union of everything the statement references, in any clause (decides error/notice redaction). */
  readonly all: Lineage;
  /** Set for EXECUTE/FETCH: the rows are those of the named statement (resolved per session). */
  readonly named: NamedStatementRef | null;
  /** PREPARE/DECLARE: the lineage of the statement they name (what EXECUTE/FETCH of it return). */
  readonly inner: StatementLineage | null;
  /** Column references for policy (deduplicated, bounded). */
  readonly refs: readonly ColumnReference[];
}

/** A relation as the catalog knows it. */
export interface CatalogRelation {
  readonly schema: string;
  readonly name: string;
  /** Column names in attribute order (dropped columns excluded). */
  readonly columns: readonly string[];
  /** SELECT text of a view or materialized view (pg_get_viewdef), else undefined. */
  readonly viewDefinition?: string;
}

/** The gateway's picture of the upstream schema (services/gateway/postgres/column-catalog.ts). Synchronous. */
export interface LineageCatalog {
  /** Changes whenever the picture changes; analyses made with another version are recomputed. */
  readonly version: number;
  /**
   * Relations a name may denote: qualified, the one in that schema; unqualified, the pg_catalog one if any, else
   * every user schema's (several: ambiguous, all are taken). Unknown names answer [] (and may schedule a refresh).
   */
  relations(schema: string | null, name: string): readonly CatalogRelation[];
  /** Whether `name` (unqualified, lower case) is a function in pg_catalog. */
  isBuiltinFunction(name: string): boolean;
  /** Reloads the picture (rate-limited by the implementation); absent when it cannot change. */
  refresh?(): Promise<void>;
}

export const CLEAN: Lineage = Object.freeze({ cols: new Set<string>(), opaque: false });
export const OPAQUE: Lineage = Object.freeze({ cols: new Set<string>(), opaque: true });

export function union(a: Lineage, b: Lineage): Lineage {
  if (b.cols.size === 0 && (!b.opaque || a.opaque)) return a;
  if (a.cols.size === 0 && (!a.opaque || b.opaque)) return b;
  const cols = new Set(a.cols);
  for (const c of b.cols) cols.add(c);
  return { cols, opaque: a.opaque || b.opaque };
}

export function unionAll(list: readonly Lineage[]): Lineage {
  let out = CLEAN;
  for (const l of list) out = union(out, l);
  return out;
}

export function baseColumn(schema: string, table: string, column: string): Lineage {
  return { cols: new Set([`${schema}.${table}.${column}`.toLowerCase()]), opaque: false };
}
