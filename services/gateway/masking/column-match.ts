import type { RowField } from '../../shared/pg-wire/index.js';

/** Where a result column comes from, as the gateway knows it from the catalog. */
export interface ColumnOrigin {
  readonly schema?: string;
  /** The table's name ('customers'; 'public.customers' is accepted when `schema` is absent). */
  readonly table: string;
  /** The table's column name; when absent the RowDescription name is used. */
  readonly column?: string;
}

/**
 * Looks up a RowDescription field's (tableOid, columnAttr); `undefined` when unknown. Called once per field when
 * a result set starts, never per row; must be synchronous.
 */
export type ColumnCatalog = (tableOid: number, columnAttr: number) => ColumnOrigin | undefined;

/**
 * Which fields `mask.columns` names. Entries are matched case-insensitively as `column`, `table.column` or
 * `schema.table.column`:
 * - `column` matches the result column's name and, when the source is known, the source column's name (so an
 *   alias does not escape: `select email as e from customers` masks `e`);
 * - `table.column` and `schema.table.column` match the source table and column; when the source table is
 *   unknown (an expression, or the resolver does not know it) or carries no schema, they match on the parts that
 *   can be compared, down to the column name alone: over-masking rather than leaking.
 * Expressions over a column (`lower(email)`) keep no source: only the name and the content detectors apply.
 */
export function matchColumns(
  fields: readonly RowField[],
  columns: readonly string[],
  resolve?: ColumnCatalog,
): boolean[] {
  const bare = new Set<string>();
  const qualified: string[][] = [];
  for (const c of columns) {
    const parts = c.toLowerCase().split('.');
    if (parts.length === 1) bare.add(parts[0]!);
    else qualified.push(parts);
  }
  return fields.map((f) => {
    const output = f.name.toLowerCase();
    const source = f.tableOid !== 0 && resolve !== undefined ? resolve(f.tableOid, f.columnAttr) : undefined;
    const column = (source?.column ?? f.name).toLowerCase();
    if (bare.has(output) || bare.has(column)) return true;
    const tableParts =
      source === undefined
        ? []
        : [...(source.schema ? [source.schema] : []), ...source.table.split('.')].map((p) => p.toLowerCase());
    for (const q of qualified) {
      const qColumn = q[q.length - 1]!;
      if (qColumn !== column && qColumn !== output) continue;
      if (source === undefined) return true;
      if (qColumn !== column) continue;
      // Compare table (and schema) parts from the right, as far as both sides have them.
      const want = q.slice(0, -1);
      let ok = true;
      for (let k = 1; k <= Math.min(want.length, tableParts.length); k++) {
        if (want[want.length - k] !== tableParts[tableParts.length - k]) ok = false;
      }
      if (ok) return true;
    }
    return false;
  });
}
