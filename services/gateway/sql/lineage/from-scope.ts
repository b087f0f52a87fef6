import type { Lineage } from './lineage-types.js';
import { OPAQUE, union, unionAll } from './lineage-types.js';

/** One output column of a query or relation. */
export interface NamedLineage {
  readonly name: string;
  readonly lin: Lineage;
}

/** A relation in a FROM list: a table, view, CTE, subquery or function, with the name that qualifies it. */
export interface FromItem {
  readonly kind: 'item';
  /** Alias, or the relation's own name; '' for an unaliased subquery. */
  readonly alias: string;
  readonly schema: string | null;
  readonly relname: string | null;
  /** Null when the columns cannot be known (unknown relation, function of unknown shape). */
  readonly columns: readonly NamedLineage[] | null;
  /** What a whole-row reference (`t`, `t.*` in an expression) or an unknown column of it carries. */
  readonly whole: Lineage;
}

/** A join: its sides, the merged USING/NATURAL columns, and an alias when the join is named. */
export interface FromJoin {
  readonly kind: 'join';
  readonly left: FromNode;
  readonly right: FromNode;
  readonly using: readonly string[];
  readonly alias: string | null;
}

export type FromNode = FromItem | FromJoin;

export function item(
  alias: string,
  columns: readonly NamedLineage[] | null,
  whole?: Lineage,
  rel?: { schema: string | null; relname: string },
): FromItem {
  return {
    kind: 'item',
    alias,
    schema: rel?.schema ?? null,
    relname: rel?.relname ?? null,
    columns,
    whole: whole ?? (columns === null ? OPAQUE : unionAll(columns.map((c) => c.lin))),
  };
}

/** The columns `*` expands to over a FROM node, in PostgreSQL's order (USING columns first); null if unknown. */
export function starColumns(node: FromNode): readonly NamedLineage[] | null {
  if (node.kind === 'item') return node.columns;
  const left = starColumns(node.left);
  const right = starColumns(node.right);
  if (left === null || right === null) return null;
  if (node.using.length === 0) return [...left, ...right];
  const using = new Set(node.using);
  const merged = node.using.map((name) => ({
    name,
    lin: unionAll([...left, ...right].filter((c) => c.name === name).map((c) => c.lin)),
  }));
  return [...merged, ...left.filter((c) => !using.has(c.name)), ...right.filter((c) => !using.has(c.name))];
}

/** Every FROM node that can be named: the leaf items and aliased joins. */
export function namedNodes(node: FromNode, out: FromNode[] = []): FromNode[] {
  if (node.kind === 'item') out.push(node);
  else {
    if (node.alias !== null) out.push(node);
    namedNodes(node.left, out);
    namedNodes(node.right, out);
  }
  return out;
}

export function leafItems(node: FromNode, out: FromItem[] = []): FromItem[] {
  if (node.kind === 'item') out.push(node);
  else {
    leafItems(node.left, out);
    leafItems(node.right, out);
  }
  return out;
}

export function wholeOf(node: FromNode): Lineage {
  if (node.kind === 'item') return node.whole;
  return unionAll(leafItems(node).map((i) => i.whole));
}

/** The name resolution scope of one query level; `parent` is the enclosing query (correlated references). */
export class Scope {
  readonly nodes: FromNode[] = [];
  /** Output column names, for ORDER BY/GROUP BY references to select-list aliases. */
  outputs: readonly NamedLineage[] = [];
  readonly parent: Scope | null;
  constructor(parent: Scope | null) {
    this.parent = parent;
  }

  *#chain(): Generator<Scope> {
    yield this;
    if (this.parent !== null) yield* this.parent.#chain();
  }

  /** The node named `alias` (aliased joins included), nearest scope first. */
  findNode(alias: string): FromNode | null {
    for (const s of this.#chain()) {
      for (const root of s.nodes) {
        for (const n of namedNodes(root)) {
          if (n.alias === alias) return n;
        }
      }
    }
    return null;
  }

  /** A table named schema.relname (for three-part references). */
  findRelation(schema: string, relname: string): FromItem | null {
    for (const s of this.#chain()) {
      for (const root of s.nodes) {
        for (const i of leafItems(root)) if (i.schema === schema && i.relname === relname) return i;
      }
    }
    return null;
  }

  /**
   * An unqualified column: the union of every match at the nearest level that has one (ambiguity is the server's
   * error, not a reason to under-mask); items of unknown shape may hold any name, so they count as matches.
   */
  findColumn(name: string): Lineage | null {
    for (const s of this.#chain()) {
      const found: Lineage[] = [];
      for (const root of s.nodes) {
        for (const i of leafItems(root)) {
          if (i.columns === null) {
            found.push(i.whole);
            continue;
          }
          for (const c of i.columns) if (c.name === name) found.push(c.lin);
        }
      }
      if (found.length > 0) return unionAll(found);
    }
    return null;
  }

  /**
   * A column reference by its names (`col`, `t.col`, `schema.t.col`; `t` alone is a whole-row reference, column
   * '*'); null when nothing here or in an enclosing scope has it. With `ordering` (ORDER BY/GROUP BY) a select-list
   * alias of that name counts too.
   */
  resolve(names: readonly string[], ordering: boolean): { lin: Lineage; column: string } | null {
    const column = names.at(-1) ?? '*';
    if (names.length === 1) {
      let lin = this.findColumn(column);
      let name = column;
      if (lin === null) {
        const node = this.findNode(column);
        if (node !== null) {
          lin = wholeOf(node);
          name = '*';
        }
      }
      const output = this.outputs.find((o) => o.name === column)?.lin;
      if (output !== undefined && (lin === null || ordering))
        lin = lin === null ? output : union(lin, output);
      return lin === null ? null : { lin, column: name };
    }
    if (names.length === 2) {
      const node = this.findNode(names[0]!);
      if (node === null) return null;
      return { lin: starColumns(node)?.find((c) => c.name === column)?.lin ?? wholeOf(node), column };
    }
    const rel = this.findRelation(names.at(-3)!, names.at(-2)!);
    if (rel === null) return null;
    return { lin: rel.columns?.find((c) => c.name === column)?.lin ?? rel.whole, column };
  }
}
