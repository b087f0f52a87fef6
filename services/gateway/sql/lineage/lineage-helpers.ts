import { stringList, unwrap } from '../ast-collector.js';
import type { AstObject } from '../ast-collector.js';
import { item } from './from-scope.js';
import type { FromNode, NamedLineage } from './from-scope.js';
import type { CatalogRelation, Lineage, LineageCatalog } from './lineage-types.js';
import { baseColumn, OPAQUE, unionAll } from './lineage-types.js';

/** What a query produces: its output columns (null when their number is unknown) and all it references. */
export interface QueryLineage {
  readonly columns: readonly NamedLineage[] | null;
  readonly all: Lineage;
}

/**
 * Built-in functions that run SQL given as a string or read data the gateway cannot follow: their results are
 * opaque whatever their arguments.
 */
export const OPAQUE_BUILTINS = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'lo_get',
  'loread',
  'pg_read_file',
  'pg_read_binary_file',
  'current_query',
]);

/** Catalog relations that hold sampled column values or other sessions' SQL text: every column is opaque. */
export const SAMPLED: ReadonlyMap<string, ReadonlySet<string> | null> = new Map([
  ['pg_stats', null],
  ['pg_stats_ext', null],
  ['pg_stats_ext_exprs', null],
  ['pg_statistic', null],
  ['pg_statistic_ext_data', null],
  ['pg_stat_activity', new Set(['query'])],
  ['pg_stat_statements', new Set(['query'])],
]);

export function aliasOf(alias: unknown): string | null {
  const a = unwrap(alias, 'Alias');
  return a !== null && typeof a.aliasname === 'string' ? a.aliasname.toLowerCase() : null;
}

export function aliasColumns(alias: unknown): string[] | null {
  const a = unwrap(alias, 'Alias');
  const names = a === null ? [] : stringList(a.colnames).map((n) => n.toLowerCase());
  return names.length > 0 ? names : null;
}

/** Column aliases rename the first columns (the rest keep their names). */
export function renamed(
  columns: readonly NamedLineage[] | null,
  names: readonly string[] | null,
): readonly NamedLineage[] | null {
  if (columns === null || names === null || names.length === 0) return columns;
  return columns.map((c, i) => ({ name: names[i] ?? c.name, lin: c.lin }));
}

export function wholeOrAll(q: QueryLineage): Lineage {
  return q.columns === null ? q.all : unionAll(q.columns.map((c) => c.lin));
}

export function coldefNames(body: AstObject): string[] | null {
  const defs = Array.isArray(body.coldeflist) ? body.coldeflist : null;
  if (defs === null) return null;
  return defs.map((d) => {
    const name = unwrap(d, 'ColumnDef')?.colname;
    return typeof name === 'string' ? name.toLowerCase() : '?';
  });
}

export function firstFunctionName(functions: unknown): string | null {
  if (!Array.isArray(functions) || functions.length !== 1) return null;
  const items = unwrap(functions[0], 'List')?.items;
  const fc = Array.isArray(items) ? unwrap(items[0], 'FuncCall') : null;
  return fc === null ? null : (stringList(fc.funcname).at(-1)?.toLowerCase() ?? null);
}

/**
 * A relation from the catalog as a FROM item: base tables give their columns, views what `view` makes of their
 * definition, sampled-value catalog views opaque columns; unknown names an item of unknown shape (opaque).
 */
export function catalogRelation(
  catalog: LineageCatalog,
  schema: string | null,
  relname: string,
  alias: string,
  colnames: readonly string[] | null,
  view: (rel: CatalogRelation, definition: string) => QueryLineage,
): FromNode {
  const candidates = catalog.relations(schema, relname);
  if (candidates.length === 0) return item(alias, null, OPAQUE, { schema, relname });
  const shapes = candidates.map((c): QueryLineage => {
    const sampled = c.schema === 'pg_catalog' ? SAMPLED.get(c.name) : undefined;
    if (c.viewDefinition !== undefined && sampled === undefined) return view(c, c.viewDefinition);
    const columns = c.columns.map((name) => ({
      name,
      lin:
        sampled !== undefined && (sampled === null || sampled.has(name))
          ? OPAQUE
          : baseColumn(c.schema, c.name, name),
    }));
    return { columns, all: unionAll(columns.map((x) => x.lin)) };
  });
  const first = shapes[0]!;
  const rel = { schema: schema ?? candidates[0]!.schema, relname };
  if (shapes.length === 1) return item(alias, renamed(first.columns, colnames), undefined, rel);
  // Ambiguous (several schemas): every column may come from any of them.
  const whole = unionAll(shapes.map(wholeOrAll));
  const cols = first.columns?.map((c) => ({ name: c.name, lin: whole })) ?? null;
  return item(alias, renamed(cols, colnames), whole, rel);
}
