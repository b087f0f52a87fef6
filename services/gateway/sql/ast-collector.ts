import {
  isAllowListed,
  KNOWN_EFFECT_FUNCTIONS,
  PURE_CAST_TYPES,
  PURE_FUNCTIONS,
  PURE_OPERATORS,
} from './allow-lists.js';

/*
 * Walks a libpg_query JSON parse tree and collects the tables read and written, the functions called and whether
 * anything was seen that is not proven free of side effects. Nodes come in two shapes: wrapped `{ TypeName: {…} }`
 * where the field type is the generic Node, and bare `{…}` where the field type is fixed (e.g. `relation` holds a
 * bare RangeVar, set operations hold bare SelectStmts). A bare object with a string `relname` is a RangeVar.
 */

export type AstObject = Record<string, unknown>;

/** Trees nested deeper than this are refused rather than risking the JavaScript stack. */
export const MAX_AST_DEPTH = 1000;

export class AstTooDeepError extends Error {
  constructor() {
    super(`statement nesting exceeds ${MAX_AST_DEPTH} levels`);
  }
}

/** Functions the parser itself inserts as `pg_catalog.x` for SQL syntax (LIKE … ESCAPE, SIMILAR TO, …). */
const PARSER_INJECTED = new Set(['similar_to_escape', 'like_escape']);

export function isObject(v: unknown): v is AstObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The body of a wrapped node of type `type`, or a bare node as is. */
export function unwrap(v: unknown, type: string): AstObject | null {
  if (!isObject(v)) return null;
  const inner = v[type];
  return isObject(inner) ? inner : v;
}

/** svals of a list of String nodes, e.g. funcname, names, DropStmt object lists. */
export function stringList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const item of v) {
    const s = unwrap(item, 'String');
    if (s !== null && typeof s.sval === 'string') out.push(s.sval);
  }
  return out;
}

/** Qualified name of a RangeVar as written, lower-cased: 'customers', 'public.customers', 'db.public.t'. */
export function rangeVarName(rv: AstObject): string {
  const parts: string[] = [];
  if (typeof rv.catalogname === 'string' && rv.catalogname !== '') parts.push(rv.catalogname);
  if (typeof rv.schemaname === 'string' && rv.schemaname !== '') parts.push(rv.schemaname);
  parts.push(String(rv.relname));
  return parts.join('.').toLowerCase();
}

function isNodeName(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 65 && c <= 90;
}

export class AstCollector {
  readonly reads = new Set<string>();
  readonly writes = new Set<string>();
  readonly functions = new Set<string>();
  /** Set when something is seen that is not proven free of side effects. */
  unsafe = false;
  /** Set when user code may run that the gateway cannot see: a function, operator, cast or sampler off the
   * allow-lists (it may run dynamic SQL, change settings, …). Implies `unsafe`. */
  opaque = false;
  readonly #scopes: Set<string>[] = [];
  #depth = 0;

  visit(value: unknown): void {
    if (Array.isArray(value)) {
      for (const v of value) if (v !== null && typeof v === 'object') this.visit(v);
      return;
    }
    if (!isObject(value)) return;
    if (++this.#depth > MAX_AST_DEPTH) throw new AstTooDeepError();
    try {
      const keys = Object.keys(value);
      const first = keys[0];
      if (keys.length === 1 && first !== undefined && isNodeName(first)) this.#visitNode(first, value[first]);
      else this.visitFields(value);
    } finally {
      this.#depth--;
    }
  }

  /** Visits a bare node: a RangeVar is a read; WITH scopes CTE names; INTO is a write; FOR UPDATE is unsafe. */
  visitFields(obj: AstObject, skip?: string): void {
    if (typeof obj.relname === 'string') {
      this.addRead(obj);
      return;
    }
    if (isObject(obj.withClause)) this.withScope(obj.withClause, () => this.#visitPlain(obj, skip));
    else this.#visitPlain(obj, skip);
  }

  addRead(rv: AstObject): void {
    const hasSchema = typeof rv.schemaname === 'string' && rv.schemaname !== '';
    if (!hasSchema && typeof rv.relname === 'string' && this.#isCte(rv.relname)) return;
    this.reads.add(rangeVarName(rv));
  }

  addWrite(rv: unknown): void {
    const body = unwrap(rv, 'RangeVar');
    if (body !== null && typeof body.relname === 'string') this.writes.add(rangeVarName(body));
  }

  addFunctionCall(fc: AstObject): void {
    const parts = stringList(fc.funcname).map((s) => s.toLowerCase());
    if (parts.length === 0) return;
    const last = parts[parts.length - 1]!;
    if (parts.length === 2 && parts[0] === 'pg_catalog') {
      if (fc.funcformat === 'COERCE_SQL_SYNTAX' || PARSER_INJECTED.has(last)) parts.shift();
    }
    const name = parts.join('.');
    this.functions.add(name);
    if (isAllowListed(PURE_FUNCTIONS, name)) return;
    if (isAllowListed(KNOWN_EFFECT_FUNCTIONS, name)) this.unsafe = true;
    else this.#userCode();
  }

  /** INSERT/UPDATE/DELETE/MERGE, at top level or inside a CTE: the target is a write, the rest is visited. */
  visitModify(body: AstObject): void {
    this.unsafe = true;
    const run = (): void => {
      this.addWrite(body.relation);
      this.#visitPlain(body, 'relation');
    };
    if (isObject(body.withClause)) this.withScope(body.withClause, run);
    else run();
  }

  /** Runs `body` with the CTE names of `withClause` in scope, visiting each CTE query with the names it sees. */
  withScope(withClause: AstObject, body: () => void): void {
    const ctes = Array.isArray(withClause.ctes) ? withClause.ctes : [];
    const scope = new Set<string>();
    this.#scopes.push(scope);
    try {
      const entries = ctes.map((c) => unwrap(c, 'CommonTableExpr')).filter((c) => c !== null);
      if (withClause.recursive === true) for (const c of entries) scope.add(String(c.ctename));
      for (const c of entries) {
        this.visit(c.ctequery);
        scope.add(String(c.ctename));
      }
      body();
    } finally {
      this.#scopes.pop();
    }
  }

  #userCode(): void {
    this.unsafe = true;
    this.opaque = true;
  }

  #isCte(name: string): boolean {
    for (const s of this.#scopes) if (s.has(name)) return true;
    return false;
  }

  #visitNode(type: string, body: unknown): void {
    if (!isObject(body)) return;
    switch (type) {
      case 'RangeVar':
        this.addRead(body);
        return;
      case 'FuncCall':
        this.addFunctionCall(body);
        this.visitFields(body, 'funcname');
        return;
      case 'A_Expr': {
        const op = stringList(body.name).join('.');
        if (op !== '' && !isAllowListed(PURE_OPERATORS, op)) this.#userCode();
        this.visitFields(body, 'name');
        return;
      }
      case 'TypeCast': {
        const names = stringList(unwrap(body.typeName, 'TypeName')?.names).map((s) => s.toLowerCase());
        if (!isAllowListed(PURE_CAST_TYPES, names.join('.'))) this.#userCode();
        this.visit(body.arg);
        return;
      }
      case 'RangeTableSample': {
        // TABLESAMPLE methods other than the built-in ones are user code.
        const method = stringList(body.method).join('.').toLowerCase();
        if (!['system', 'bernoulli', 'pg_catalog.system', 'pg_catalog.bernoulli'].includes(method))
          this.#userCode();
        this.visitFields(body, 'method');
        return;
      }
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        this.visitModify(body);
        return;
      default:
        this.visitFields(body);
    }
  }

  #visitPlain(obj: AstObject, skip: string | undefined): void {
    for (const key in obj) {
      if (key === skip || key === 'withClause') continue;
      const v = obj[key];
      if (v === null || typeof v !== 'object') continue;
      if (key === 'intoClause') {
        // SELECT … INTO creates a table.
        this.unsafe = true;
        if (isObject(v)) this.addWrite(v.rel);
        continue;
      }
      if (key === 'lockingClause') this.unsafe = true; // FOR UPDATE / FOR SHARE take row locks
      this.visit(v);
    }
  }
}
