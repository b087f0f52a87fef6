import { isObject, stringList, unwrap } from './ast-collector.js';
import type { AstObject } from './ast-collector.js';
import type { SettingChange, SettingScope } from './sql-analysis.js';

/*
 * Every way one statement can change a run-time setting (GUC), as policy sees it (`statements[].settings`):
 * SET/SET LOCAL/RESET/RESET ALL/SET … TO DEFAULT, SET TRANSACTION/SESSION CHARACTERISTICS, the SET clauses of
 * CREATE/ALTER FUNCTION|PROCEDURE, ALTER ROLE/DATABASE/SYSTEM … SET|RESET, DISCARD ALL (a RESET ALL), set_config()
 * anywhere in the statement, and writes to the pg_settings view (its update rule calls set_config). A name or value
 * the parser cannot prove constant is null: the gateway refuses such changes (it cannot tell what they change).
 */

const SET_CONFIG = new Set(['set_config', 'pg_catalog.set_config']);
const PG_SETTINGS = new Set(['pg_settings', 'pg_catalog.pg_settings']);

/** The constant a node stands for, as the server would read it in SET, or null when not a constant. */
export function constantText(node: unknown): string | null {
  const c = unwrap(node, 'A_Const');
  if (c === null) return null;
  if (c.isnull === true) return null;
  const field = (key: string, inner: string): string | number | boolean | undefined => {
    const v = c[key];
    const x = isObject(v) ? v[inner] : undefined;
    return typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? x : undefined;
  };
  if (isObject(c.sval)) return typeof c.sval.sval === 'string' ? c.sval.sval : '';
  if (isObject(c.ival)) return String(field('ival', 'ival') ?? 0);
  if (isObject(c.fval)) return String(field('fval', 'fval') ?? '0');
  if (isObject(c.boolval)) return field('boolval', 'boolval') === true ? 'true' : 'false';
  if (isObject(c.bsval)) return String(field('bsval', 'bsval') ?? '');
  return null;
}

/** The change one VariableSetStmt makes, in `scope`. */
function fromVariableSet(v: AstObject, scope: SettingScope): SettingChange[] {
  const name = typeof v.name === 'string' ? v.name.toLowerCase() : null;
  const local = v.is_local === true && scope === 'session' ? 'local' : scope;
  switch (v.kind) {
    case 'VAR_RESET_ALL':
      return [{ name: null, value: null, action: 'reset_all', scope }];
    case 'VAR_RESET':
    case 'VAR_SET_DEFAULT':
      return [{ name, value: null, action: 'reset', scope: local }];
    case 'VAR_SET_CURRENT':
      return [{ name, value: null, action: 'set', scope: local }];
    case 'VAR_SET_MULTI': {
      // SET TRANSACTION …, SET SESSION CHARACTERISTICS AS TRANSACTION …, SET TRANSACTION SNAPSHOT …
      if (name === 'transaction snapshot') {
        const args = Array.isArray(v.args) ? v.args : [];
        return [
          { name: 'transaction_snapshot', value: constantText(args[0]), action: 'set', scope: 'local' },
        ];
      }
      const session = name === 'session characteristics';
      const out: SettingChange[] = [];
      for (const a of Array.isArray(v.args) ? v.args : []) {
        const d = unwrap(a, 'DefElem');
        if (d === null || typeof d.defname !== 'string') continue;
        out.push({
          name: session ? `default_${d.defname}` : d.defname,
          value: constantText(d.arg),
          action: 'set',
          scope: session ? 'session' : 'local',
        });
      }
      return out;
    }
    default: {
      const args = Array.isArray(v.args) ? v.args.map(constantText) : [];
      const value = args.some((a) => a === null) ? null : args.join(', ');
      return [{ name, value, action: 'set', scope: local }];
    }
  }
}

/** Settings changed by FuncCalls to set_config() anywhere under `root` (iterative: no deep recursion). */
function setConfigCalls(root: unknown): SettingChange[] {
  const out: SettingChange[] = [];
  const stack: unknown[] = [root];
  let budget = 200_000;
  while (stack.length > 0 && budget-- > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x);
      continue;
    }
    if (!isObject(v)) continue;
    const fc = isObject(v.FuncCall) ? v.FuncCall : null;
    if (fc !== null) {
      const fname = stringList(fc.funcname)
        .map((s) => s.toLowerCase())
        .join('.');
      if (SET_CONFIG.has(fname)) {
        const args = Array.isArray(fc.args) ? fc.args : [];
        const name = constantText(args[0]);
        const isLocal = constantText(args[2]);
        out.push({
          name: name === null ? null : name.toLowerCase(),
          value: constantText(args[1]),
          action: 'set',
          scope: isLocal === 'true' ? 'local' : 'session',
        });
      }
    }
    for (const key in v) {
      const x = v[key];
      if (x !== null && typeof x === 'object') stack.push(x);
    }
  }
  if (budget < 0) out.push({ name: null, value: null, action: 'set', scope: 'session' });
  return out;
}

/** The settings statement node `{ NodeType: body }` changes, given the tables it writes. */
export function settingChanges(
  nodeType: string,
  body: AstObject,
  node: unknown,
  writes: readonly string[],
): SettingChange[] {
  const out: SettingChange[] = [];
  switch (nodeType) {
    case 'VariableSetStmt':
      out.push(...fromVariableSet(body, 'session'));
      break;
    case 'AlterRoleSetStmt':
    case 'AlterDatabaseSetStmt':
    case 'AlterSystemStmt': {
      const scope =
        nodeType === 'AlterRoleSetStmt' ? 'role' : nodeType === 'AlterSystemStmt' ? 'system' : 'database';
      const set = unwrap(body.setstmt, 'VariableSetStmt');
      if (set !== null) out.push(...fromVariableSet(set, scope));
      break;
    }
    case 'CreateFunctionStmt':
    case 'AlterFunctionStmt': {
      const list = nodeType === 'CreateFunctionStmt' ? body.options : body.actions;
      for (const o of Array.isArray(list) ? list : []) {
        const d = unwrap(o, 'DefElem');
        if (d === null || d.defname !== 'set') continue;
        const set = unwrap(d.arg, 'VariableSetStmt');
        if (set !== null) out.push(...fromVariableSet(set, 'function'));
      }
      break;
    }
    case 'DiscardStmt':
      if (body.target === 'DISCARD_ALL')
        out.push({ name: null, value: null, action: 'reset_all', scope: 'session' });
      break;
    default:
      break;
  }
  out.push(...setConfigCalls(node));
  if (writes.some((w) => PG_SETTINGS.has(w)))
    out.push({ name: null, value: null, action: 'set', scope: 'session' });
  return out;
}
