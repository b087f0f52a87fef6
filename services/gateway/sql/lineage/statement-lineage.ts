import { isObject, stringList, unwrap } from '../ast-collector.js';
import type { AstObject } from '../ast-collector.js';
import { item, Scope } from './from-scope.js';
import type { NamedLineage } from './from-scope.js';
import type { Lineage, LineageCatalog, NamedStatementRef, StatementLineage } from './lineage-types.js';
import { CLEAN, OPAQUE, union, unionAll } from './lineage-types.js';
import { LineageWalker } from './query-lineage.js';
import type { QueryLineage } from './query-lineage.js';

/** Statements that read no table data and return none (their errors cannot echo a value). */
const INERT = new Set([
  'TransactionStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'DeallocateStmt',
  'ClosePortalStmt',
  'DiscardStmt',
  'ListenStmt',
  'UnlistenStmt',
  'CheckPointStmt',
]);

/**
 * Lineage of one raw statement node (`{ SelectStmt: {…} }`) against `catalog`. `views` memoises view lineage
 * across statements of the same catalog version. Never throws: anything it cannot follow is opaque.
 */
export function statementLineage(
  stmt: unknown,
  catalog: LineageCatalog,
  views: Map<string, QueryLineage | 'pending'>,
): StatementLineage {
  const w = new LineageWalker(catalog, views);
  w.modify = (node, outer) => modifyLineage(w, node, outer);
  const node = isObject(stmt) ? stmt : {};
  const type = Object.keys(node)[0] ?? '';
  const body: AstObject = isObject(node[type]) ? node[type] : {};
  try {
    return shape(w, type, body, node);
  } catch {
    // Pathological nesting or an unexpected tree: fail closed.
    return result(w, null, OPAQUE, OPAQUE);
  }
}

function shape(w: LineageWalker, type: string, body: AstObject, node: AstObject): StatementLineage {
  // SHOW returns one clean row; the others none.
  if (INERT.has(type)) return result(w, null, CLEAN, CLEAN);
  switch (type) {
    case 'SelectStmt': {
      if (isObject(body.intoClause)) w.write = true;
      const q = w.query(node, null);
      return isObject(body.intoClause) ? result(w, [], CLEAN, q.all) : fromQuery(w, q);
    }
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return fromQuery(w, modifyLineage(w, node, null));
    case 'ExplainStmt': {
      // The plan is text about the query, not its data; but EXPLAIN ANALYZE runs it (its errors may echo values).
      const inner = statementLineage(body.query, w.catalog, w.views);
      w.adopt(inner.refs);
      return result(w, null, CLEAN, inner.all);
    }
    case 'CopyStmt': {
      if (body.is_from === true) return result(w, [], CLEAN, CLEAN);
      if (body.query !== undefined) return fromQuery(w, w.query(body.query, null));
      const rel = unwrap(body.relation, 'RangeVar');
      if (rel === null) return result(w, null, OPAQUE, OPAQUE);
      const scope = new Scope(null);
      scope.nodes.push(w.relation(rel));
      const attlist = stringList(body.attlist).map((a) => a.toLowerCase());
      const names = attlist.length > 0 ? attlist : null;
      const cols = names
        ? names.map((n) => ({
            name: n,
            lin: w.columnRef({ fields: [{ String: { sval: n } }] }, scope, 'select'),
          }))
        : w.starList([], scope);
      const all = w.columnRef({ fields: [{ A_Star: {} }] }, scope, 'select');
      return fromQuery(w, { columns: cols, all });
    }
    case 'PrepareStmt':
    case 'DeclareCursorStmt': {
      // No rows now; EXECUTE/FETCH get the inner statement's lineage through the session's registry.
      const inner = statementLineage(body.query, w.catalog, w.views);
      w.adopt(inner.refs);
      return { ...result(w, [], CLEAN, inner.all), inner };
    }
    case 'ExecuteStmt':
      return named(w, { kind: 'prepared', name: str(body.name) });
    case 'FetchStmt':
      return named(w, { kind: 'cursor', name: str(body.portalname) });
    case 'CreateTableAsStmt':
    case 'ViewStmt': {
      w.write = true;
      const inner = w.query(body.query, null);
      return result(w, [], CLEAN, inner.all);
    }
    default: {
      // Anything else (DO, CALL, DDL, …): whatever it names counts, and its data cannot be followed.
      const scope = new Scope(null);
      const lin = w.expr(body, scope, 'other');
      return result(w, null, OPAQUE, union(lin, OPAQUE));
    }
  }
}

/**
 * INSERT/UPDATE/DELETE/MERGE: the target's columns after the write carry the target's own values and everything
 * written into them, which is what RETURNING returns.
 */
function modifyLineage(w: LineageWalker, node: unknown, outer: Scope | null): QueryLineage {
  const n = isObject(node) ? node : {};
  const type = Object.keys(n)[0] ?? '';
  const body: AstObject = isObject(n[type]) ? n[type] : {};
  const run = (): QueryLineage => {
    const target = unwrap(body.relation, 'RangeVar');
    if (target === null) return { columns: null, all: OPAQUE };
    const scope = new Scope(outer);
    const table = w.relation(target);
    let written = CLEAN;
    const sources: Lineage[] = [];
    if (type === 'InsertStmt') {
      const prior = w.write;
      w.write = true;
      if (body.selectStmt !== undefined) written = w.query(body.selectStmt, scope).all;
      w.write = prior;
      scope.nodes.push(table);
      sources.push(w.expr(body.onConflictClause, scope, 'write'));
    } else {
      sources.push(w.from(type === 'DeleteStmt' ? body.usingClause : body.fromClause, scope));
      scope.nodes.push(table);
      if (type === 'MergeStmt') {
        sources.push(w.from([body.sourceRelation], scope));
        sources.push(w.expr(body.joinCondition, scope, 'join'));
        written = w.expr(body.mergeWhenClauses, scope, 'write');
      }
      if (type === 'UpdateStmt') written = w.expr(body.targetList, scope, 'write');
      sources.push(w.expr(body.whereClause, scope, 'where'));
    }
    // RETURNING sees the target with what was written into it.
    const after: NamedLineage[] | null =
      table.kind === 'item' && table.columns !== null
        ? table.columns.map((c) => ({ name: c.name, lin: union(c.lin, written) }))
        : null;
    const retScope = new Scope(outer);
    retScope.nodes.push(
      ...scope.nodes.slice(0, -1),
      item(
        table.kind === 'item' ? table.alias : '',
        after,
        union(table.kind === 'item' ? table.whole : OPAQUE, written),
      ),
    );
    const columns: NamedLineage[] = [];
    let known = true;
    for (const t of Array.isArray(body.returningList) ? body.returningList : []) {
      const rt = unwrap(t, 'ResTarget');
      if (rt === null) continue;
      const ref = unwrap(rt.val, 'ColumnRef');
      const fields =
        ref !== null && isObject(rt.val) && isObject(rt.val.ColumnRef) && Array.isArray(ref.fields)
          ? ref.fields
          : null;
      if (fields !== null && isObject(fields.at(-1)) && 'A_Star' in fields.at(-1)!) {
        const cols = w.starList(
          stringList(fields).map((f) => f.toLowerCase()),
          retScope,
        );
        w.columnRef(ref!, retScope, 'returning');
        if (cols === null) known = false;
        else columns.push(...cols);
        continue;
      }
      const lin = w.expr(rt.val, retScope, 'returning');
      const name =
        typeof rt.name === 'string'
          ? rt.name
          : ((fields ? stringList(fields).at(-1) : undefined) ?? '?column?');
      columns.push({ name, lin });
    }
    return {
      columns: known ? columns : null,
      all: unionAll([written, ...sources, ...columns.map((c) => c.lin)]),
    };
  };
  return isObject(body.withClause) ? w.withClause(body.withClause, outer, run) : run();
}

function named(w: LineageWalker, ref: NamedStatementRef): StatementLineage {
  return { ...result(w, null, OPAQUE, OPAQUE), named: ref };
}

function fromQuery(w: LineageWalker, q: QueryLineage): StatementLineage {
  const outputUnion = q.columns === null ? q.all : unionAll(q.columns.map((c) => c.lin));
  return result(w, q.columns?.map((c) => c.lin) ?? null, outputUnion, union(q.all, outputUnion));
}

function result(
  w: LineageWalker,
  outputs: readonly Lineage[] | null,
  outputUnion: Lineage,
  all: Lineage,
): StatementLineage {
  return { outputs, outputUnion, all, named: null, inner: null, refs: w.refs };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.toLowerCase() : '';
}
