import { loadSqlParser, parseRaw } from './pg-parser.js';
import type { SqlAnalysis, SqlStatementAnalysis } from './sql-analysis.js';
import { isObject } from './ast-collector.js';
import { analyzeStatementNode } from './statement-analyzer.js';
import { nameRef } from './statement-names.js';
import { settingChanges } from './statement-settings.js';

/**
 * Analyses `text` with PostgreSQL's own parser. Synchronous (no await on the hot path) once `loadSqlParser()` has
 * resolved at start-up; throws `SqlParserNotLoadedError` before that and never for bad SQL: a syntax error gives
 * `statements: []` and the parser's message in `parse_error`; an empty or comment-only text gives
 * `statements: []` and `parse_error: null`.
 */
export function analyzeSqlSync(text: string): SqlAnalysis {
  const parsed = parseRaw(text);
  if (!parsed.ok) return { text, statements: [], parse_error: parsed.error };
  try {
    const slice = statementSlicer(text);
    const statements = parsed.stmts.map((raw) =>
      analyzeStatement(raw.stmt, slice(raw.stmt_location ?? 0, raw.stmt_len ?? 0)),
    );
    return { text, statements, parse_error: null };
  } catch (err) {
    // Pathological nesting (AstTooDeepError) or an unexpected tree: fail closed with a reason.
    return { text, statements: [], parse_error: `cannot analyse statement: ${(err as Error).message}` };
  }
}

/** One statement node with its source text: shape, settings and name use (recursively for PREPARE/DECLARE). */
export function analyzeStatement(stmt: unknown, text: string): SqlStatementAnalysis {
  const shape = analyzeStatementNode(stmt);
  const node = isObject(stmt) ? stmt : {};
  const nodeType = Object.keys(node)[0] ?? 'Unknown';
  const body = isObject(node[nodeType]) ? node[nodeType] : {};
  return {
    type: shape.type,
    text,
    reads: shape.reads,
    writes: shape.writes,
    has_where: shape.has_where,
    ddl: shape.ddl,
    functions: shape.functions,
    read_only: shape.read_only,
    object_type: shape.object_type,
    opaque: shape.opaque,
    settings: settingChanges(nodeType, body, stmt, shape.writes),
    name_ref: nameRef(nodeType, body, text, analyzeStatement),
  };
}

/** `analyzeSqlSync` after making sure the parser is loaded (convenient outside the hot path). */
export async function analyzeSql(text: string): Promise<SqlAnalysis> {
  await loadSqlParser();
  return analyzeSqlSync(text);
}

/**
 * libpg_query reports statement positions in UTF-8 bytes; `stmt_len` 0 means "to the end". ASCII text (the common
 * case) is sliced as a string, anything else through its UTF-8 bytes.
 */
function statementSlicer(text: string): (location: number, length: number) => string {
  if (Buffer.byteLength(text, 'utf8') === text.length) {
    return (location, length) => text.slice(location, length > 0 ? location + length : undefined).trim();
  }
  const bytes = Buffer.from(text, 'utf8');
  return (location, length) =>
    bytes.toString('utf8', location, length > 0 ? location + length : bytes.length).trim();
}
