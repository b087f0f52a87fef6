import type { AstObject } from './ast-collector.js';
import { pgQueryScan } from './pg-query-wasm.js';
import type { NameRef, SqlStatementAnalysis } from './sql-analysis.js';

/** DECLARE option bit for WITH HOLD (CURSOR_OPT_HOLD in PostgreSQL's parsenodes.h). */
const CURSOR_OPT_HOLD = 0x20;

type Token = { start: number; end: number; text: string; keywordKind: number };

/**
 * Where the inner statement of `PREPARE name [(types)] AS stmt` or `DECLARE name … CURSOR … FOR query` starts in
 * `text`, found with PostgreSQL's own scanner (comments, quoting and keyword-named cursors handled as the server
 * does): the token after the first keyword `after` that follows the name. Null if not found.
 */
export function innerStatementText(text: string, after: 'AS' | 'FOR', needsCursor: boolean): string | null {
  let out: string;
  try {
    out = pgQueryScan(text);
  } catch {
    return null;
  }
  if (!out.startsWith('{')) return null;
  const tokens = (JSON.parse(out) as { tokens?: Token[] }).tokens ?? [];
  let depth = 0;
  let sawCursor = !needsCursor;
  // Token 0 is PREPARE/DECLARE, token 1 the name.
  for (let i = 2; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    if (depth !== 0 || t.keywordKind === 0) continue;
    const word = t.text.toUpperCase();
    if (!sawCursor) {
      if (word === 'CURSOR') sawCursor = true;
      continue;
    }
    if (word === after) {
      const next = tokens[i + 1];
      if (next === undefined) return null;
      return Buffer.from(text, 'utf8').subarray(next.start).toString('utf8').trim();
    }
  }
  return null;
}

/**
 * The name use of one statement node. `inner(node, text)` analyses the statement behind PREPARE/DECLARE.
 */
export function nameRef(
  nodeType: string,
  body: AstObject,
  text: string,
  inner: (node: unknown, text: string) => SqlStatementAnalysis,
): NameRef | null {
  const name = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const base = { hold: false, statement: null, known: null };
  switch (nodeType) {
    case 'PrepareStmt': {
      const innerText = innerStatementText(text, 'AS', false) ?? text;
      return {
        ...base,
        op: 'prepare',
        kind: 'statement',
        name: name(body.name),
        statement: inner(body.query, innerText),
      };
    }
    case 'DeclareCursorStmt': {
      const innerText = innerStatementText(text, 'FOR', true) ?? text;
      const options = typeof body.options === 'number' ? body.options : 0;
      return {
        ...base,
        op: 'declare',
        kind: 'cursor',
        name: name(body.portalname),
        hold: (options & CURSOR_OPT_HOLD) !== 0,
        statement: inner(body.query, innerText),
      };
    }
    case 'ExecuteStmt':
      return { ...base, op: 'execute', kind: 'statement', name: name(body.name) ?? '' };
    case 'FetchStmt':
      return {
        ...base,
        op: body.ismove === true ? 'move' : 'fetch',
        kind: 'cursor',
        name: name(body.portalname) ?? '',
      };
    case 'DeallocateStmt':
      return body.isall === true || name(body.name) === null
        ? { ...base, op: 'deallocate', kind: 'statement', name: null }
        : { ...base, op: 'deallocate', kind: 'statement', name: name(body.name) };
    case 'ClosePortalStmt':
      return { ...base, op: 'close', kind: 'cursor', name: name(body.portalname) };
    case 'DiscardStmt':
      return body.target === 'DISCARD_ALL' ? { ...base, op: 'discard', kind: 'all', name: null } : null;
    default:
      return null;
  }
}
