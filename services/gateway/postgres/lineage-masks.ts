import type { SqlAnalysis, SqlStatementAnalysis } from '../sql/index.js';
import { MASK_ALL, maskPlan, unionMasks } from '../sql/lineage/index.js';
import type { LineageCache, NamedStatementRef, SqlLineage, StatementMask } from '../sql/lineage/index.js';
import type { MaskSpec } from './response-pipeline.js';

/*
 * The bridge between the session's name registry (name-resolution.ts: EXECUTE/FETCH and protocol Bind/Execute of
 * names resolved to the statements they stand for) and lineage masking: a named statement is masked, and its
 * column references reach policy, as the statement the name stands for.
 */

/** Texts of the statements each resolved name use stands for (several when the name is ambiguous). */
function namedTargets(analysis: SqlAnalysis): (ref: NamedStatementRef) => readonly string[] | undefined {
  const targets = new Map<string, string[]>();
  for (const s of analysis.statements) {
    const ref = s.name_ref;
    if (ref?.known !== true || ref.statement === null || ref.name === null) continue;
    const key = `${ref.kind === 'statement' ? 'prepared' : 'cursor'}:${ref.name.toLowerCase()}`;
    targets.set(key, [...(targets.get(key) ?? []), ref.statement.text]);
  }
  return (ref) => targets.get(`${ref.kind}:${ref.name}`);
}

/** The lineage of the one statement `text` holds (PREPARE/DECLARE: the statement they name); null otherwise. */
function single(text: string, cache: LineageCache): SqlLineage['statements'][number] | null {
  const s = cache.analyze(text).statements;
  return s.length === 1 ? (s[0]!.inner ?? s[0]!) : null;
}

/** `analysis` with `columns` on the statements that stand for a named one (from that statement's lineage). */
export function withColumns(analysis: SqlAnalysis, cache: LineageCache): SqlAnalysis {
  if (!analysis.statements.some((s) => s.name_ref?.statement && !hasColumns(s))) return analysis;
  const statements = analysis.statements.map((s): SqlStatementAnalysis => {
    const target = s.name_ref?.statement;
    if (!target || hasColumns(s)) return s;
    const refs = single(target.text, cache)?.refs ?? [{ table: '', column: '*', position: 'other' as const }];
    return { ...s, columns: refs };
  });
  return { ...analysis, statements };
}

function hasColumns(s: SqlStatementAnalysis): boolean {
  return s.columns !== undefined;
}

/**
 * The mask of a decision: with columns to mask, the lineage masks of every statement of the request. `named`: the
 * request is a protocol Bind/Execute decided on the analyses a name stands for (`analysis`), masked by all of them.
 */
export function decisionMask(
  mask: { readonly columns: readonly string[]; readonly detectors: readonly string[] },
  lineage: SqlLineage,
  analysis: SqlAnalysis,
  named: boolean,
  cache: LineageCache,
): MaskSpec | null {
  if (mask.columns.length === 0) return mask.detectors.length > 0 ? mask : null;
  const lookup = (t: string): SqlLineage => cache.analyze(t);
  let statements: StatementMask[];
  if (named) {
    const texts = analysis.statements.map((s) => s.name_ref?.statement?.text ?? null);
    const plans = texts.map((t) => {
      if (t === null) return MASK_ALL;
      const l = single(t, cache);
      return l === null
        ? MASK_ALL
        : (maskPlan({ ...lineage, statements: [l] }, mask.columns, lookup)[0] ?? MASK_ALL);
    });
    statements = [plans.length === 0 ? MASK_ALL : plans.reduce(unionMasks)];
  } else statements = maskPlan(lineage, mask.columns, lookup, namedTargets(analysis));
  return { ...mask, statements };
}

/**
 * `resolved` (decided on `before`) with the column references of `after`, the same text's lineage with a newer
 * catalog: statements of the text are swapped for their new analysis, named ones recomputed from their targets.
 */
export function reattach(
  resolved: SqlAnalysis,
  before: SqlLineage,
  after: SqlLineage,
  cache: LineageCache,
): SqlAnalysis {
  const statements = resolved.statements.map((s): SqlStatementAnalysis => {
    const i = before.analysis.statements.indexOf(s as (typeof before.analysis.statements)[number]);
    if (i >= 0) return after.analysis.statements[i] ?? s;
    if (!s.name_ref?.statement) return s;
    const { columns: _stale, ...rest } = s;
    return rest;
  });
  return withColumns({ ...resolved, statements }, cache);
}
