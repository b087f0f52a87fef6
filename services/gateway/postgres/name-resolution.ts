import type { NameRef, SqlAnalysis, SqlStatementAnalysis } from '../sql/index.js';
import { isAllowListed, PURE_FUNCTIONS } from '../sql/allow-lists.js';
import type { NameEffect, NameRegistry, PortalEntry, StatementEntry } from './name-registry.js';

/*
 * Decisions use the statement a name stands for: EXECUTE p is decided as the statement p was prepared from, FETCH
 * and MOVE as the cursor's query, a protocol Bind of a SQL-prepared statement and an Execute of a cursor likewise.
 * A name the gateway does not know (or knows to stand for nothing analysable) is decided as opaque code.
 */

/** The registry as name resolution sees it (lookups only). */
export type NameLookup = Pick<NameRegistry, 'statementCandidates' | 'portalCandidates'>;

/** `use` (EXECUTE/FETCH/MOVE, or a protocol Bind/Execute) decided as `target`: its effects, the use's text. */
export function asTarget(
  use: SqlStatementAnalysis,
  ref: NameRef,
  target: SqlStatementAnalysis,
): SqlStatementAnalysis {
  const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])];
  return {
    ...target,
    text: use.text,
    reads: union(target.reads, use.reads),
    writes: union(target.writes, use.writes),
    functions: union(target.functions, use.functions),
    // EXECUTE's parameter expressions must be read-only too (an EXECUTE alone is never read-only).
    read_only: target.read_only && (ref.op === 'execute' ? pureParameters(use) : use.read_only),
    opaque: target.opaque || use.opaque,
    ddl: target.ddl || use.ddl,
    settings: [...target.settings, ...use.settings],
    name_ref: { ...ref, known: true, statement: target },
  };
}

function pureParameters(use: SqlStatementAnalysis): boolean {
  return !use.opaque && use.functions.every((f) => isAllowListed(PURE_FUNCTIONS, f));
}

/** `use` of a name nobody can vouch for: write + DDL, opaque. */
export function asUnknown(use: SqlStatementAnalysis, ref: NameRef): SqlStatementAnalysis {
  return { ...use, opaque: true, ddl: true, read_only: false, name_ref: { ...ref, known: false } };
}

/** Entries a name-use statement may stand for, seeing effects of earlier statements of the same text. */
type Local = {
  statements: Map<string, StatementEntry | null>;
  portals: Map<string, PortalEntry | null>;
  /** DEALLOCATE ALL / CLOSE ALL / DISCARD ALL earlier in the text: names not set since are gone. */
  noStatements: boolean;
  noPortals: boolean;
};

function targets(ref: NameRef, local: Local, names: NameLookup): SqlStatementAnalysis[] | null {
  const name = ref.name ?? '';
  if (ref.op === 'execute') {
    const l = local.statements.get(name) ?? (local.noStatements ? null : undefined);
    const entries = l !== undefined ? (l === null ? [] : [l]) : names.statementCandidates(name);
    const out = entries.map((e) => e.analysis);
    return out.length === 0 || out.some((a) => a === null) ? null : (out as SqlStatementAnalysis[]);
  }
  const l = local.portals.get(name) ?? (local.noPortals ? null : undefined);
  const entries = l !== undefined ? (l === null ? [] : [l]) : names.portalCandidates(name);
  const out = entries.map((e) => e.statement.analysis);
  return out.length === 0 || out.some((a) => a === null) ? null : (out as SqlStatementAnalysis[]);
}

/** The statement entry PREPARE creates, the portal entry DECLARE creates. */
function preparedEntry(s: SqlStatementAnalysis): StatementEntry {
  return { text: s.text, analysis: s, verdict: null, origin: 'sql', fields: null };
}

/** The effects one (resolved) statement has on names once the server completes it. */
export function effectsOf(s: SqlStatementAnalysis): NameEffect[] {
  const out: NameEffect[] = [];
  const ref = s.name_ref;
  if (s.opaque) out.push({ t: 'portal-', name: null }); // opaque code may open cursors (refcursors) of any name
  if (ref === null) return out;
  switch (ref.op) {
    case 'prepare':
      if (ref.name !== null && ref.statement !== null)
        out.push({ t: 'statement+', name: ref.name, entry: preparedEntry(ref.statement) });
      break;
    case 'declare':
      if (ref.name !== null && ref.statement !== null) {
        out.push({
          t: 'portal+',
          name: ref.name,
          entry: {
            statement: preparedEntry(ref.statement),
            cursor: true,
            hold: ref.hold,
            verdict: null,
            fields: null,
            resultFormats: [],
          },
        });
      }
      break;
    case 'deallocate':
      out.push({ t: 'statement-', name: ref.name });
      break;
    case 'close':
      out.push({ t: 'portal-', name: ref.name });
      break;
    case 'discard':
      out.push({ t: 'all-' });
      break;
    default:
      break;
  }
  return out;
}

/**
 * Resolves every name use in `statements` (one SQL text, in order): EXECUTE/FETCH/MOVE become the statements they
 * stand for (one entry per candidate), unknown names become opaque. Returns the statements policy decides on.
 */
export function resolveStatements(
  statements: readonly SqlStatementAnalysis[],
  names: NameLookup,
): SqlStatementAnalysis[] {
  if (!statements.some((s) => s.name_ref !== null)) return statements as SqlStatementAnalysis[];
  const local: Local = { statements: new Map(), portals: new Map(), noStatements: false, noPortals: false };
  const out: SqlStatementAnalysis[] = [];
  for (const s of statements) {
    const ref = s.name_ref;
    if (ref === null || ref.known !== null || !['execute', 'fetch', 'move'].includes(ref.op)) {
      out.push(s);
      for (const e of effectsOf(s)) applyLocal(local, e);
      continue;
    }
    const found = targets(ref, local, names);
    if (found === null) out.push(asUnknown(s, ref));
    else for (const t of found) out.push(asTarget(s, ref, t));
  }
  return out;
}

function applyLocal(local: Local, e: NameEffect): void {
  switch (e.t) {
    case 'statement+':
      local.statements.set(e.name, e.entry);
      return;
    case 'statement-':
      if (e.name !== null) local.statements.set(e.name, null);
      else {
        local.statements.clear();
        local.noStatements = true;
      }
      return;
    case 'portal+':
      local.portals.set(e.name, e.entry);
      return;
    case 'portal-':
      if (e.name !== null) local.portals.set(e.name, null);
      else {
        local.portals.clear();
        local.noPortals = true;
      }
      return;
    case 'all-':
      applyLocal(local, { t: 'statement-', name: null });
      applyLocal(local, { t: 'portal-', name: null });
      return;
  }
}

/**
 * What policy decides for a protocol-level use of a name: a Bind of statement `name` ('execute') or an Execute of
 * portal `name` ('fetch'), given the analyses the name may stand for (null: nothing analysable).
 */
export function protocolUse(
  op: 'execute' | 'fetch',
  name: string,
  analyses: readonly (SqlStatementAnalysis | null)[],
  names: NameLookup,
): SqlAnalysis {
  const use: SqlStatementAnalysis = {
    type: op,
    text: `${op === 'execute' ? 'Bind of statement' : 'Execute of portal'} "${name}"`,
    reads: [],
    writes: [],
    has_where: false,
    ddl: false,
    functions: [],
    read_only: true,
    object_type: null,
    opaque: false,
    settings: [],
    name_ref: null,
  };
  const ref: NameRef = {
    op,
    kind: op === 'execute' ? 'statement' : 'cursor',
    name,
    hold: false,
    statement: null,
    known: null,
  };
  const text = use.text;
  if (analyses.length === 0 || analyses.some((a) => a === null)) {
    return { text, statements: [asUnknown(use, ref)], parse_error: null };
  }
  const statements = (analyses as SqlStatementAnalysis[])
    .flatMap((a) => resolveStatements([a], names))
    .map((t) => asTarget({ ...use, text: t.text }, ref, t));
  return { text, statements, parse_error: null };
}
