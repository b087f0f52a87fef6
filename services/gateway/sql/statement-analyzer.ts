import { AstCollector, isObject, rangeVarName, stringList, unwrap } from './ast-collector.js';
import type { AstObject } from './ast-collector.js';
import type { SqlStatementAnalysis } from './sql-analysis.js';

/** What the analyzer derives from a statement node alone (settings, names and the text are added around it). */
export type Shape = Omit<SqlStatementAnalysis, 'text' | 'settings' | 'name_ref'>;

/** Statements that run code the gateway cannot see, or run a statement for its side effects (EXPLAIN ANALYZE). */
const OPAQUE_NODES = new Set([
  'DoStmt',
  'CallStmt',
  'LoadStmt',
  'CreateTrigStmt',
  'RuleStmt',
  'CreateEventTrigStmt',
]);

/** Node types that change the schema, besides every Create*, Alter* and Drop* node. */
const DDL_NODES = new Set([
  'RenameStmt',
  'IndexStmt',
  'ViewStmt',
  'DefineStmt',
  'CompositeTypeStmt',
  'CommentStmt',
  'RuleStmt',
  'TruncateStmt',
  'SecLabelStmt',
  'ImportForeignSchemaStmt',
  'ReassignOwnedStmt',
  'DropOwnedStmt',
]);

/** Readable names where the node name would be odd. */
const TYPE_NAMES: Readonly<Record<string, string>> = {
  CreateStmt: 'create_table',
  CreateForeignTableStmt: 'create_foreign_table',
  ViewStmt: 'create_view',
  IndexStmt: 'create_index',
  CreatedbStmt: 'create_database',
  DropdbStmt: 'drop_database',
  AlterDatabaseStmt: 'alter_database',
  CreateTrigStmt: 'create_trigger',
  RuleStmt: 'create_rule',
  CreateSeqStmt: 'create_sequence',
  AlterSeqStmt: 'alter_sequence',
  CreateSchemaStmt: 'create_schema',
  CheckPointStmt: 'checkpoint',
  DoStmt: 'do',
  VariableShowStmt: 'show',
  ListenStmt: 'listen',
  UnlistenStmt: 'unlisten',
  NotifyStmt: 'notify',
  CommentStmt: 'comment',
  DefineStmt: 'create_object',
  CompositeTypeStmt: 'create_type',
  CreateEnumStmt: 'create_type',
  CreateRangeStmt: 'create_type',
  RefreshMatViewStmt: 'refresh_materialized_view',
  DeallocateStmt: 'deallocate',
  ClosePortalStmt: 'close',
  DeclareCursorStmt: 'declare',
  LoadStmt: 'load',
};

const TRANSACTION_KINDS: Readonly<Record<string, [type: string, readOnly: boolean]>> = {
  TRANS_STMT_BEGIN: ['begin', true],
  TRANS_STMT_START: ['begin', true],
  TRANS_STMT_COMMIT: ['commit', true],
  TRANS_STMT_ROLLBACK: ['rollback', true],
  TRANS_STMT_SAVEPOINT: ['savepoint', true],
  TRANS_STMT_RELEASE: ['release', true],
  TRANS_STMT_ROLLBACK_TO: ['rollback_to_savepoint', true],
  TRANS_STMT_PREPARE: ['prepare_transaction', false],
  TRANS_STMT_COMMIT_PREPARED: ['commit_prepared', false],
  TRANS_STMT_ROLLBACK_PREPARED: ['rollback_prepared', false],
};

/** Relation kinds whose DROP lists the dropped names in `writes`. */
const RELATION_KINDS = new Set([
  'table',
  'view',
  'materialized_view',
  'matview',
  'sequence',
  'index',
  'foreign_table',
]);

function snake(nodeType: string): string {
  return nodeType
    .replace(/Stmt$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function objectType(v: unknown): string | null {
  if (typeof v !== 'string' || !v.startsWith('OBJECT_')) return null;
  const t = v.slice(7).toLowerCase();
  return t === 'matview' ? 'materialized_view' : t;
}

/**
 * Whether EXPLAIN's options turn ANALYZE on: a bare `analyze` does, an explicit false value (false/off/no/0)
 * does not, anything unrecognised is taken as on. Protobuf JSON omits zero values: `{ Integer: {} }` is 0.
 */
function explainAnalyzes(options: unknown): boolean {
  if (!Array.isArray(options)) return false;
  let on = false;
  for (const o of options) {
    const d = isObject(o) && isObject(o.DefElem) ? o.DefElem : null;
    if (d === null || d.defname !== 'analyze') continue;
    on = optionValue(d.arg) ?? true;
  }
  return on;
}

function optionValue(arg: unknown): boolean | null {
  if (arg === undefined) return true;
  if (!isObject(arg)) return null;
  const v = isObject(arg.A_Const) ? arg.A_Const : arg;
  // A value node is either wrapped ({ String: { sval } }) or, inside A_Const, keyed by its value field.
  const inner = (node: string, key: string): AstObject | null =>
    isObject(v[node]) ? v[node] : isObject(v[key]) ? v[key] : null;
  const str = inner('String', 'sval');
  if (str !== null) return typeof str.sval === 'string' ? !FALSE_WORDS.has(str.sval.toLowerCase()) : null;
  const int = inner('Integer', 'ival');
  if (int !== null) return (int.ival ?? 0) !== 0;
  const bool = inner('Boolean', 'boolval');
  if (bool !== null) return bool.boolval === true;
  return null;
}

const FALSE_WORDS = new Set(['false', 'off', 'no', '0']);

/**
 * Analyses one raw statement node (`{ SelectStmt: {…} }`). Throws `AstTooDeepError` for pathological nesting.
 */
export function analyzeStatementNode(stmt: unknown): Shape {
  const c = new AstCollector();
  const node = isObject(stmt) ? stmt : {};
  const nodeType = Object.keys(node)[0] ?? 'Unknown';
  const body: AstObject = isObject(node[nodeType]) ? node[nodeType] : {};

  let type = TYPE_NAMES[nodeType] ?? snake(nodeType);
  let ddl = DDL_NODES.has(nodeType) || /^(Create|Alter|Drop)/.test(nodeType);
  let readOnlyKind = false;
  /** Set when the answer does not follow from `readOnlyKind` and the collector. */
  let readOnly: boolean | null = null;
  let hasWhere = false;
  let opaque = OPAQUE_NODES.has(nodeType);
  let object: string | null =
    objectType(body.objtype) ??
    objectType(body.removeType) ??
    objectType(body.renameType) ??
    objectType(body.objectType);

  switch (nodeType) {
    case 'SelectStmt':
      if (isObject(body.intoClause)) {
        type = 'create_table_as';
        ddl = true;
        opaque = true;
        object = 'table';
      } else {
        type = 'select';
        readOnlyKind = true;
      }
      c.visit(node);
      break;
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      hasWhere = nodeType !== 'InsertStmt' && nodeType !== 'MergeStmt' && body.whereClause !== undefined;
      c.visit(node);
      break;
    case 'ExplainStmt': {
      const inner = analyzeStatementNode(body.query);
      const analyze = explainAnalyzes(body.options);
      for (const r of inner.reads) c.reads.add(r);
      // Without ANALYZE nothing is executed: the statement's targets are only looked at.
      for (const w of inner.writes) (analyze ? c.writes : c.reads).add(w);
      for (const f of inner.functions) c.functions.add(f);
      // ANALYZE runs the statement; planning alone may run immutable user functions (constant folding).
      opaque = analyze || inner.opaque;
      readOnly = analyze ? false : !inner.opaque;
      break;
    }
    case 'VariableShowStmt':
      readOnlyKind = true;
      break;
    case 'VariableSetStmt':
      type = body.kind === 'VAR_RESET' || body.kind === 'VAR_RESET_ALL' ? 'reset' : 'set';
      break;
    case 'TransactionStmt': {
      const kind = TRANSACTION_KINDS[String(body.kind)] ?? ['transaction', false];
      type = kind[0];
      readOnlyKind = kind[1];
      break;
    }
    case 'CopyStmt':
      if (body.is_from === true) c.addWrite(body.relation);
      else if (isObject(body.relation)) c.addRead(body.relation);
      c.visitFields(body, 'relation');
      readOnlyKind = body.is_from !== true && body.filename === undefined && body.is_program !== true;
      if (body.is_program === true) opaque = true;
      break;
    case 'CreateStmt':
      object = 'table';
      c.addWrite(body.relation);
      c.visitFields(body, 'relation');
      break;
    case 'CreateForeignTableStmt': {
      object = 'foreign_table';
      const base = unwrap(body.base, 'CreateStmt') ?? {};
      c.addWrite(base.relation);
      c.visitFields(base, 'relation');
      break;
    }
    case 'CreateTableAsStmt': {
      opaque = true;
      type = object === 'materialized_view' ? 'create_materialized_view' : 'create_table_as';
      c.addWrite(unwrap(body.into, 'IntoClause')?.rel);
      c.visit(body.query);
      break;
    }
    case 'ViewStmt':
      object = 'view';
      c.addWrite(body.view);
      c.visit(body.query);
      break;
    case 'IndexStmt':
      object = 'index';
      c.addWrite(body.relation);
      c.visitFields(body, 'relation');
      break;
    case 'DropStmt':
      type = 'drop';
      if (object !== null && RELATION_KINDS.has(object) && Array.isArray(body.objects)) {
        for (const o of body.objects) {
          const name = stringList(unwrap(o, 'List')?.items).join('.').toLowerCase();
          if (name !== '') c.writes.add(name);
        }
      }
      break;
    case 'TruncateStmt':
      if (Array.isArray(body.relations)) for (const r of body.relations) c.addWrite(r);
      break;
    case 'AlterTableStmt':
    case 'AlterObjectSchemaStmt':
    case 'AlterOwnerStmt':
      type = `alter_${object ?? 'object'}`;
      c.addWrite(body.relation);
      c.visitFields(body, 'relation');
      break;
    case 'RenameStmt': {
      const renamesPart = ['column', 'tabconstraint', 'trigger', 'rule', 'policy'].includes(object ?? '');
      type = `alter_${(renamesPart ? objectType(body.relationType) : object) ?? 'object'}`;
      c.addWrite(body.relation);
      break;
    }
    case 'GrantStmt':
      type = body.is_grant === true ? 'grant' : 'revoke';
      if (Array.isArray(body.objects)) {
        for (const o of body.objects) {
          const rv = unwrap(o, 'RangeVar');
          if (rv !== null && typeof rv.relname === 'string') c.writes.add(rangeVarName(rv));
        }
      }
      break;
    case 'GrantRoleStmt':
      type = body.is_grant === true ? 'grant_role' : 'revoke_role';
      break;
    case 'CallStmt':
      c.unsafe = true;
      c.visit({ FuncCall: body.funccall });
      break;
    case 'CreateFunctionStmt':
      type = body.is_procedure === true ? 'create_procedure' : 'create_function';
      object = body.is_procedure === true ? 'procedure' : 'function';
      break;
    case 'CreateTrigStmt':
    case 'CreatePolicyStmt':
    case 'RuleStmt':
      c.addWrite(body.relation ?? body.table);
      c.visit(body.whereClause ?? body.qual);
      c.visit(body.actions);
      c.visit(body.with_check);
      break;
    case 'RefreshMatViewStmt':
    case 'ReindexStmt':
    case 'ClusterStmt':
      c.addWrite(body.relation);
      break;
    case 'CreateSeqStmt':
    case 'AlterSeqStmt':
      object = 'sequence';
      c.addWrite(body.sequence);
      c.visitFields(body, 'sequence');
      break;
    case 'VacuumStmt':
      type = body.is_vacuumcmd === true ? 'vacuum' : 'analyze';
      if (Array.isArray(body.rels))
        for (const r of body.rels) c.addWrite(unwrap(r, 'VacuumRelation')?.relation);
      break;
    case 'PrepareStmt':
    case 'DeclareCursorStmt': {
      const inner = analyzeStatementNode(body.query);
      for (const r of inner.reads) c.reads.add(r);
      for (const w of inner.writes) c.writes.add(w);
      for (const f of inner.functions) c.functions.add(f);
      readOnly = inner.read_only;
      opaque = inner.opaque;
      ddl = inner.ddl;
      break;
    }
    case 'ExecuteStmt':
      // Decided as the statement the name stands for (see name-resolution.ts); alone it proves nothing.
      c.visit(body.params);
      break;
    case 'FetchStmt':
      // Decided as the cursor's query (see name-resolution.ts).
      type = body.ismove === true ? 'move' : 'fetch';
      readOnlyKind = true;
      break;
    case 'ClosePortalStmt':
    case 'DeallocateStmt':
      readOnlyKind = true;
      break;
    default:
      c.visit(node);
  }

  for (const w of c.writes) c.reads.delete(w);
  // Code the gateway cannot see counts as write + DDL (policy may say otherwise, it sees `opaque`).
  opaque ||= c.opaque;
  if (opaque) {
    ddl = true;
    readOnly = false;
  }
  return {
    type,
    reads: [...c.reads],
    writes: [...c.writes],
    has_where: hasWhere,
    ddl,
    functions: [...c.functions],
    read_only: readOnly ?? (readOnlyKind && !c.unsafe),
    opaque,
    object_type: ddl || type === 'grant' || type === 'revoke' || type === 'drop' ? object : null,
  };
}
