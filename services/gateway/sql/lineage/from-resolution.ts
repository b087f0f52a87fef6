import { isObject, stringList, unwrap } from '../ast-collector.js';
import type { AstObject } from '../ast-collector.js';
import { parseRaw } from '../pg-parser.js';
import { item, Scope, starColumns, wholeOf } from './from-scope.js';
import type { FromNode, NamedLineage } from './from-scope.js';
import type { Lineage, LineageCatalog, RefPosition } from './lineage-types.js';
import { CLEAN, OPAQUE, union, unionAll } from './lineage-types.js';
import {
  aliasColumns,
  aliasOf,
  catalogRelation,
  coldefNames,
  firstFunctionName,
  renamed,
  wholeOrAll,
} from './lineage-helpers.js';
import type { QueryLineage } from './lineage-helpers.js';

/** Views defined over views deeper than this are opaque. */
const MAX_VIEW_DEPTH = 16;

/** What scope resolution needs of the expression walker (query-lineage.ts): sub-queries and expressions. */
export type ExpressionLineage = {
  query(node: unknown, outer: Scope | null): QueryLineage;
  expr(node: unknown, scope: Scope, position: RefPosition): Lineage;
  /** Lineage of a data-modifying statement in a CTE (statement-lineage.ts); null when not set. */
  readonly modify: ((node: unknown, outer: Scope | null) => QueryLineage) | null;
};

/** The columns `*` or `t.*` expands to in a select list; null when unknown. */
export function starList(qualifier: readonly string[], scope: Scope): readonly NamedLineage[] | null {
  if (qualifier.length === 0) {
    const out: NamedLineage[] = [];
    for (const n of scope.nodes) {
      const cols = starColumns(n);
      if (cols === null) return null;
      out.push(...cols);
    }
    return out;
  }
  const node = scope.findNode(qualifier.at(-1)!);
  return node === null ? null : starColumns(node);
}

/** The whole-row lineage `*` or `t.*` stands for when its columns are unknown. */
export function starWhole(qualifier: readonly string[], scope: Scope): Lineage {
  if (qualifier.length === 0) return unionAll(scope.nodes.map(wholeOf));
  const node = scope.findNode(qualifier.at(-1)!);
  return node === null ? OPAQUE : wholeOf(node);
}

/**
 * Scope resolution of one statement: FROM items (tables, views, CTEs, sub-queries, functions, joins) and the CTEs
 * in scope. Views are expanded from their definitions, each in a walker of its own (`viewWalker`), memoised in
 * `views` across the statement.
 */
export class FromResolver {
  readonly #exprs: ExpressionLineage;
  readonly #catalog: LineageCatalog;
  readonly #views: Map<string, QueryLineage | 'pending'>;
  readonly #viewDepth: number;
  readonly #viewWalker: (viewDepth: number) => ExpressionLineage;
  #ctes: Map<string, QueryLineage>[] = [];

  constructor(opts: {
    exprs: ExpressionLineage;
    catalog: LineageCatalog;
    views: Map<string, QueryLineage | 'pending'>;
    viewDepth: number;
    viewWalker: (viewDepth: number) => ExpressionLineage;
  }) {
    this.#exprs = opts.exprs;
    this.#catalog = opts.catalog;
    this.#views = opts.views;
    this.#viewDepth = opts.viewDepth;
    this.#viewWalker = opts.viewWalker;
  }

  /** Adds the FROM list of a query level to `scope`; each item sees those before it (LATERAL). */
  from(list: unknown, scope: Scope): Lineage {
    let all = CLEAN;
    if (!Array.isArray(list)) return all;
    for (const n of list) {
      const [node, lin] = this.#fromNode(n, scope);
      scope.nodes.push(node);
      all = union(all, lin);
    }
    return all;
  }

  /** A table, view or CTE by name, as a FROM item. */
  relation(rv: AstObject): FromNode {
    const relname = String(rv.relname).toLowerCase();
    const schema =
      typeof rv.schemaname === 'string' && rv.schemaname !== '' ? rv.schemaname.toLowerCase() : null;
    const alias = aliasOf(rv.alias) ?? relname;
    const colnames = aliasColumns(rv.alias);
    if (schema === null) {
      for (let k = this.#ctes.length - 1; k >= 0; k--) {
        const cte = this.#ctes[k]!.get(relname);
        if (cte) return item(alias, renamed(cte.columns, colnames), wholeOrAll(cte));
      }
    }
    return catalogRelation(this.#catalog, schema, relname, alias, colnames, (c, def) => this.#view(c, def));
  }

  /** Runs `body` with the CTEs of `withClause` in scope. */
  withClause<T>(withClause: AstObject, outer: Scope | null, body: () => T): T {
    const env = new Map<string, QueryLineage>();
    this.#ctes.push(env);
    try {
      const ctes = Array.isArray(withClause.ctes) ? withClause.ctes : [];
      for (const c of ctes) {
        const cte = unwrap(c, 'CommonTableExpr');
        if (cte === null) continue;
        const name = String(cte.ctename).toLowerCase();
        // A recursive CTE refers to itself: a first pass with itself opaque-free gives what its body reads.
        if (withClause.recursive === true) env.set(name, { columns: null, all: CLEAN });
        let q = this.#cteQuery(cte.ctequery, outer);
        if (withClause.recursive === true) {
          env.set(name, { columns: null, all: q.all });
          q = this.#cteQuery(cte.ctequery, outer);
          q = { columns: q.columns?.map((x) => ({ name: x.name, lin: q.all })) ?? null, all: q.all };
        }
        env.set(name, { columns: renamed(q.columns, stringList(cte.aliascolnames)), all: q.all });
      }
      return body();
    } finally {
      this.#ctes.pop();
    }
  }

  /** A CTE body: a query, or a data-modifying statement (its RETURNING list; see statement-lineage.ts). */
  #cteQuery(q: unknown, outer: Scope | null): QueryLineage {
    if (isObject(q) && isObject(q.SelectStmt)) return this.#exprs.query(q, outer);
    return this.#exprs.modify?.(q, outer) ?? { columns: null, all: OPAQUE };
  }

  #view(rel: { schema: string; name: string }, definition: string): QueryLineage {
    const key = `${rel.schema}.${rel.name}`;
    const memo = this.#views.get(key);
    if (memo === 'pending') return { columns: null, all: OPAQUE }; // a cycle
    if (memo !== undefined) return memo;
    if (this.#viewDepth >= MAX_VIEW_DEPTH) return { columns: null, all: OPAQUE };
    this.#views.set(key, 'pending');
    const parsed = parseRaw(definition);
    let out: QueryLineage = { columns: null, all: OPAQUE };
    if (parsed.ok && parsed.stmts.length === 1) {
      // A view's own references are not the statement's: resolve them in a separate walker.
      const inner = this.#viewWalker(this.#viewDepth + 1);
      try {
        out = inner.query(parsed.stmts[0]!.stmt, null);
      } catch {
        out = { columns: null, all: OPAQUE };
      }
    }
    this.#views.set(key, out);
    return out;
  }

  #fromNode(n: unknown, scope: Scope): [FromNode, Lineage] {
    if (!isObject(n)) return [item('', null), OPAQUE];
    const type = Object.keys(n)[0] ?? '';
    const body = isObject(n[type]) ? n[type] : {};
    switch (type) {
      case 'RangeVar': {
        const node = this.relation(body);
        return [node, CLEAN];
      }
      case 'RangeSubselect': {
        const q = this.#exprs.query(body.subquery, scope);
        const alias = aliasOf(body.alias) ?? '';
        return [item(alias, renamed(q.columns, aliasColumns(body.alias)), wholeOrAll(q)), q.all];
      }
      case 'RangeFunction': {
        const lin = this.#exprs.expr(body.functions, scope, 'from_function');
        const names = aliasColumns(body.alias) ?? coldefNames(body);
        const alias = aliasOf(body.alias) ?? firstFunctionName(body.functions) ?? '';
        // Without column names the function's shape is unknown: every column carries its arguments' lineage.
        return [item(alias, names?.map((name) => ({ name, lin })) ?? null, lin), lin];
      }
      case 'JoinExpr': {
        const [left, l] = this.#fromNode(body.larg, scope);
        const [right, r] = this.#fromNode(body.rarg, scope);
        const joinScope = new Scope(scope);
        joinScope.nodes.push(left, right);
        const quals = this.#exprs.expr(body.quals, joinScope, 'join');
        let using = stringList(body.usingClause).map((u) => u.toLowerCase());
        if (body.isNatural === true) {
          const lc = starColumns(left);
          const rc = starColumns(right);
          using = lc && rc ? lc.map((c) => c.name).filter((c) => rc.some((x) => x.name === c)) : [];
        }
        const alias = aliasOf(body.alias) ?? aliasOf(body.join_using_alias);
        const join: FromNode = { kind: 'join', left, right, using, alias };
        return [join, unionAll([l, r, quals])];
      }
      case 'RangeTableSample':
        return this.#fromNode(body.relation, scope);
      default:
        // RangeTableFunc (XMLTABLE), JSON_TABLE and anything newer: derived from everything in it.
        return [
          item(
            aliasOf(body.alias) ?? '',
            null,
            union(this.#exprs.expr(body, scope, 'from_function'), OPAQUE),
          ),
          OPAQUE,
        ];
    }
  }
}
