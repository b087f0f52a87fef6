import { isAllowListed, PURE_FUNCTIONS } from '../allow-lists.js';
import { AstTooDeepError, isObject, MAX_AST_DEPTH, stringList, unwrap } from '../ast-collector.js';
import type { AstObject } from '../ast-collector.js';
import { Scope } from './from-scope.js';
import { FromResolver, starList, starWhole } from './from-resolution.js';
import type { FromNode, NamedLineage } from './from-scope.js';
import type { ColumnReference, Lineage, LineageCatalog, RefPosition } from './lineage-types.js';
import { CLEAN, OPAQUE, union, unionAll } from './lineage-types.js';
import { OPAQUE_BUILTINS } from './lineage-helpers.js';
import type { QueryLineage } from './lineage-helpers.js';

export type { QueryLineage } from './lineage-helpers.js';

/** Most distinct references kept per statement; past it one `{table: '', column: '*'}` stands for the rest. */
export const MAX_REFS = 256;

const PLAIN_SELECT: RefPosition = 'select';

/**
 * Walks queries and expressions of one statement, resolving every column reference through scopes (FROM items and
 * CTEs: from-resolution.ts) and recording each reference with its position.
 */
export class LineageWalker {
  readonly #catalog: LineageCatalog;
  readonly #refs = new Map<string, ColumnReference>();
  readonly #views: Map<string, QueryLineage | 'pending'>;
  readonly #scopes: FromResolver;
  #depth = 0;
  /** Inside a write's source (INSERT … SELECT, CREATE TABLE AS): plain select positions become `write`. */
  write = false;

  /** `viewDepth`: how deep in view definitions this walker is (0 for a statement's own walker). */
  constructor(catalog: LineageCatalog, views: Map<string, QueryLineage | 'pending'>, viewDepth = 0) {
    this.#catalog = catalog;
    this.#views = views;
    this.#scopes = new FromResolver({
      exprs: this,
      catalog,
      views,
      viewDepth,
      viewWalker: (depth) => new LineageWalker(catalog, views, depth),
    });
  }

  get refs(): ColumnReference[] {
    return [...this.#refs.values()];
  }

  get catalog(): LineageCatalog {
    return this.#catalog;
  }

  get views(): Map<string, QueryLineage | 'pending'> {
    return this.#views;
  }

  /** Takes over the references of a nested statement (EXPLAIN, PREPARE, DECLARE). */
  adopt(refs: readonly ColumnReference[]): void {
    for (const r of refs) this.#add(r);
  }

  /** A SELECT (set operations, VALUES, WITH included) in the scope `outer` (null at top level). */
  query(node: unknown, outer: Scope | null): QueryLineage {
    const s = unwrap(node, 'SelectStmt');
    if (s === null) return { columns: null, all: OPAQUE };
    return this.#guard(() => {
      if (isObject(s.withClause)) return this.withClause(s.withClause, outer, () => this.#select(s, outer));
      return this.#select(s, outer);
    });
  }

  /** Lineage of one expression; `position` is recorded for the references in it. */
  expr(node: unknown, scope: Scope, position: RefPosition): Lineage {
    if (Array.isArray(node)) return unionAll(node.map((n) => this.expr(n, scope, position)));
    if (!isObject(node)) return CLEAN;
    return this.#guard(() => {
      const keys = Object.keys(node);
      const type = keys.length === 1 ? keys[0]! : '';
      const body = isObject(node[type]) ? node[type] : null;
      switch (body === null ? '' : type) {
        case 'ColumnRef':
          return this.columnRef(body!, scope, position);
        case 'SubLink': {
          const sub = this.query(body!.subselect, scope);
          return union(sub.all, this.expr(body!.testexpr, scope, position));
        }
        case 'FuncCall': {
          const rest = this.#fields(body!, scope, position, 'funcname');
          return this.#functionOpaque(body!.funcname) ? union(rest, OPAQUE) : rest;
        }
        case 'SelectStmt':
          return this.query(node, scope).all;
        default:
          return this.#fields(body ?? node, scope, position);
      }
    });
  }

  /** A ColumnRef as an expression: a column, a whole-row reference, or `t.*` (whole row). */
  columnRef(ref: AstObject, scope: Scope, position: RefPosition): Lineage {
    const fields = Array.isArray(ref.fields) ? ref.fields : [];
    const star = fields.length > 0 && isObject(fields[fields.length - 1]) && 'A_Star' in fields.at(-1)!;
    const names = stringList(fields).map((n) => n.toLowerCase());
    if (star) {
      const cols = this.starList(names, scope);
      const lin = cols === null ? starWhole(names, scope) : unionAll(cols.map((c) => c.lin));
      this.#record(lin, '*', position);
      return lin;
    }
    const resolved = scope.resolve(names, position === 'order_by' || position === 'group_by');
    // Nothing in scope has it: fail closed.
    const lin = resolved?.lin ?? OPAQUE;
    this.#record(lin, resolved?.column ?? names.at(-1) ?? '*', position);
    return lin;
  }

  /** The columns `*` or `t.*` expands to in a select list; null when unknown. */
  starList(qualifier: readonly string[], scope: Scope): readonly NamedLineage[] | null {
    return starList(qualifier, scope);
  }

  /** Adds the FROM list of a query level to `scope`; each item sees those before it (LATERAL). */
  from(list: unknown, scope: Scope): Lineage {
    return this.#scopes.from(list, scope);
  }

  /** A table, view or CTE by name, as a FROM item. */
  relation(rv: AstObject): FromNode {
    return this.#scopes.relation(rv);
  }

  #select(s: AstObject, outer: Scope | null): QueryLineage {
    const op = s.op;
    if (typeof op === 'string' && op !== 'SETOP_NONE') {
      const l = this.query(s.larg, outer);
      const r = this.query(s.rarg, outer);
      const columns =
        l.columns && r.columns && l.columns.length === r.columns.length
          ? l.columns.map((c, i) => ({ name: c.name, lin: union(c.lin, r.columns![i]!.lin) }))
          : null;
      const scope = new Scope(outer);
      scope.outputs = columns ?? [];
      const rest = this.#clauses(s, scope);
      return { columns, all: unionAll([l.all, r.all, rest]) };
    }
    const scope = new Scope(outer);
    if (Array.isArray(s.valuesLists)) {
      let columns: NamedLineage[] | null = null;
      let all = CLEAN;
      for (const row of s.valuesLists) {
        const items = unwrap(row, 'List')?.items;
        const lins = Array.isArray(items)
          ? items.map((v) => this.expr(v, scope, this.write ? 'write' : 'expression'))
          : [];
        columns ??= lins.map((lin, i) => ({ name: `column${i + 1}`, lin }));
        columns = columns.map((c, i) => ({ name: c.name, lin: union(c.lin, lins[i] ?? OPAQUE) }));
        all = unionAll([all, ...lins]);
      }
      return { columns, all };
    }
    let all = this.from(s.fromClause, scope);
    const columns: NamedLineage[] = [];
    let known = true;
    const plain: RefPosition = this.write ? 'write' : PLAIN_SELECT;
    for (const t of Array.isArray(s.targetList) ? s.targetList : []) {
      const rt = unwrap(t, 'ResTarget');
      if (rt === null) continue;
      const ref = unwrap(rt.val, 'ColumnRef');
      const isRef = isObject(rt.val) && isObject(rt.val.ColumnRef) && ref !== null;
      if (
        isRef &&
        Array.isArray(ref.fields) &&
        isObject(ref.fields.at(-1)) &&
        'A_Star' in ref.fields.at(-1)!
      ) {
        const lin = this.columnRef(ref, scope, plain);
        const cols = this.starList(
          stringList(ref.fields).map((n) => n.toLowerCase()),
          scope,
        );
        if (cols === null) known = false;
        else columns.push(...cols);
        all = union(all, lin);
        continue;
      }
      const lin = this.expr(rt.val, scope, isRef ? plain : this.write ? 'write' : 'expression');
      const name =
        typeof rt.name === 'string'
          ? rt.name
          : isRef
            ? (stringList(ref.fields).at(-1) ?? '?column?')
            : '?column?';
      columns.push({ name, lin });
      all = union(all, lin);
    }
    scope.outputs = columns;
    all = union(all, this.#clauses(s, scope));
    return { columns: known ? columns : null, all };
  }

  /** WHERE, GROUP BY, HAVING, WINDOW, ORDER BY, DISTINCT ON, LIMIT/OFFSET of one query level. */
  #clauses(s: AstObject, scope: Scope): Lineage {
    const sorts = Array.isArray(s.sortClause) ? s.sortClause.map((sb) => unwrap(sb, 'SortBy')?.node) : [];
    return unionAll([
      this.expr(s.whereClause, scope, 'where'),
      this.#positional(s.groupClause, scope, 'group_by'),
      this.expr(s.havingClause, scope, 'having'),
      this.expr(s.windowClause, scope, 'window'),
      this.expr(s.distinctClause, scope, 'distinct'),
      this.expr(s.limitCount, scope, 'limit'),
      this.expr(s.limitOffset, scope, 'limit'),
      this.#positional(sorts, scope, 'order_by'),
    ]);
  }

  /** GROUP BY / ORDER BY items: an integer constant names an output column (`ORDER BY 2`). */
  #positional(list: unknown, scope: Scope, position: RefPosition): Lineage {
    if (!Array.isArray(list)) return this.expr(list, scope, position);
    const parts: Lineage[] = [];
    for (const node of list) {
      const c = unwrap(node, 'A_Const');
      const ival = c && isObject(c.ival) ? (typeof c.ival.ival === 'number' ? c.ival.ival : 0) : null;
      if (ival !== null && ival > 0 && ival <= scope.outputs.length) {
        const lin = scope.outputs[ival - 1]!.lin;
        this.#record(lin, '', position);
        parts.push(lin);
      } else parts.push(this.expr(node, scope, position));
    }
    return unionAll(parts);
  }

  /** Runs `body` with the CTEs of `withClause` in scope. */
  withClause<T>(withClause: AstObject, outer: Scope | null, body: () => T): T {
    return this.#scopes.withClause(withClause, outer, body);
  }

  /** Set by statement-lineage.ts: lineage of INSERT/UPDATE/DELETE/MERGE (for data-modifying CTEs). */
  modify: ((node: unknown, outer: Scope | null) => QueryLineage) | null = null;

  /** Walks every field of a node as expressions. */
  #fields(body: AstObject, scope: Scope, position: RefPosition, skip?: string): Lineage {
    let out = CLEAN;
    for (const key in body) {
      if (key === skip || key === 'location') continue;
      const v = body[key];
      if (v !== null && typeof v === 'object') out = union(out, this.expr(v, scope, position));
    }
    return out;
  }

  #functionOpaque(funcname: unknown): boolean {
    const parts = stringList(funcname).map((p) => p.toLowerCase());
    const name = parts.at(-1) ?? '';
    if (parts.length > 1 && parts[0] !== 'pg_catalog') return true;
    if (OPAQUE_BUILTINS.has(name)) return true;
    return !(isAllowListed(PURE_FUNCTIONS, name) || this.#catalog.isBuiltinFunction(name));
  }

  #record(lin: Lineage, column: string, position: RefPosition): void {
    for (const key of lin.cols) {
      const dot = key.lastIndexOf('.');
      this.#add({ table: key.slice(0, dot), column: key.slice(dot + 1), position });
    }
    if (lin.opaque) this.#add({ table: '', column: column === '' ? '*' : column, position });
  }

  #add(r: ColumnReference): void {
    const key = `${r.table}|${r.column}|${r.position}`;
    if (this.#refs.has(key)) return;
    if (this.#refs.size >= MAX_REFS) {
      this.#refs.set('|*|other', { table: '', column: '*', position: 'other' });
      return;
    }
    this.#refs.set(key, r);
  }

  #guard<T>(fn: () => T): T {
    if (++this.#depth > MAX_AST_DEPTH) throw new AstTooDeepError();
    try {
      return fn();
    } finally {
      this.#depth--;
    }
  }
}
