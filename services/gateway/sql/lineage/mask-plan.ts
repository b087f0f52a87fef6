import type { SqlLineage } from './lineage-cache.js';
import type { Lineage, NamedStatementRef, StatementLineage } from './lineage-types.js';

/** How one statement's results are masked, decided once per request (never per row). */
export interface StatementMask {
  /** Per output column whether it is masked whole; 'all' and 'none' when the number of columns is unknown. */
  readonly outputs: readonly boolean[] | 'all' | 'none';
  /** The statement references masked data (or data the gateway cannot follow): hide the server's texts. */
  readonly redact: boolean;
}

/** Masks every column and every server text: the answer whenever the gateway is unsure. */
export const MASK_ALL: StatementMask = Object.freeze({ outputs: 'all', redact: true });

/**
 * The SQL texts of the statements a session-level name may stand for (`PREPARE name AS …` / `DECLARE name CURSOR
 * FOR …`, or the bare query; several when ambiguous), or undefined when the session knows no such name. Provided by
 * the session's registry of prepared statements and cursors; without it EXECUTE and FETCH are masked whole.
 */
export type NamedStatementResolver = (ref: NamedStatementRef) => readonly string[] | undefined;

/** A mask covering both: a column masked by either is masked; different shapes mask everything. */
export function unionMasks(a: StatementMask, b: StatementMask): StatementMask {
  const redact = a.redact || b.redact;
  if (a.outputs === 'all' || b.outputs === 'all') return { outputs: 'all', redact };
  if (a.outputs === 'none') return { outputs: b.outputs, redact };
  if (b.outputs === 'none') return { outputs: a.outputs, redact };
  if (a.outputs.length !== b.outputs.length) return { outputs: 'all', redact };
  const bo = b.outputs;
  return { outputs: a.outputs.map((m, i) => m || bo[i]!), redact };
}

/**
 * Whether a base column `schema.table.column` is named by a decision's `mask.columns` entry (`column`,
 * `table.column` or `schema.table.column`, case-insensitive), as a predicate built once per decision.
 */
export function columnMatcher(columns: readonly string[]): (key: string) => boolean {
  const bare = new Set<string>();
  const qualified = new Set<string>();
  for (const c of columns) {
    const parts = c.toLowerCase().split('.');
    if (parts.length === 1) bare.add(parts[0]!);
    else qualified.add(parts.slice(-3).join('.'));
  }
  return (key) => {
    const parts = key.split('.');
    const column = parts.at(-1)!;
    if (bare.has(column)) return true;
    if (qualified.size === 0) return false;
    return qualified.has(key) || qualified.has(parts.slice(-2).join('.'));
  };
}

/**
 * The masks of every statement of `lineage` for a decision masking `columns`: an output column is masked whole
 * when anything it derives from is masked or cannot be followed. `lookup` gives the lineage of another text (a
 * named statement's).
 */
export function maskPlan(
  lineage: SqlLineage,
  columns: readonly string[],
  lookup: (text: string) => SqlLineage,
  resolve?: NamedStatementResolver,
): StatementMask[] {
  const match = columnMatcher(columns);
  const masked = (l: Lineage): boolean => {
    if (l.opaque) return true;
    for (const c of l.cols) if (match(c)) return true;
    return false;
  };
  const plan = (s: StatementLineage, depth: number): StatementMask => {
    if (s.named !== null) {
      const texts = depth === 0 ? resolve?.(s.named) : undefined;
      if (texts === undefined || texts.length === 0) return MASK_ALL;
      return texts
        .map((text) => {
          const target = lookup(text).statements;
          return target.length === 1 ? plan(target[0]!.inner ?? target[0]!, depth + 1) : MASK_ALL;
        })
        .reduce(unionMasks);
    }
    const redact = masked(s.all);
    if (s.outputs === null) return { outputs: masked(s.outputUnion) ? 'all' : 'none', redact };
    return { outputs: s.outputs.map(masked), redact };
  };
  return lineage.statements.map((s) => plan(s, 0));
}
