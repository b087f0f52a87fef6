import type { RawStmt } from '@pgsql/parser';
import { SqlParserNotLoadedError } from './errors.js';
import { MAX_NESTING_ESTIMATE, estimateNestingDepth } from './nesting-guard.js';
import {
  loadPgQuery,
  PgQueryTrapError,
  pgQueryRestarting,
  pgQueryFingerprint,
  pgQueryLoaded,
  pgQueryNormalize,
  pgQueryParse,
} from './pg-query-wasm.js';

const PARSER_RESTARTING = 'the SQL parser is restarting';

/**
 * Whether a `parse_error` says nothing about the text: the parser trapped on it or was restarting. Such results
 * must not be cached; the same text may analyse fine a moment later.
 */
export function isTransientParseError(error: string | null): boolean {
  return error === PARSER_RESTARTING || error === PgQueryTrapError.MESSAGE;
}

/** Loads the WebAssembly parser once. Await it at start-up before calling the synchronous helpers. */
export function loadSqlParser(): Promise<void> {
  return loadPgQuery();
}

export function isSqlParserLoaded(): boolean {
  return pgQueryLoaded();
}

function assertLoaded(): void {
  if (!pgQueryLoaded() && !pgQueryRestarting()) throw new SqlParserNotLoadedError();
}

/** Why `text` must not reach the parser, or null. */
function refusal(text: string): string | null {
  if (text.includes('\0')) return 'SQL text contains a NUL character';
  const depth = estimateNestingDepth(text);
  if (depth > MAX_NESTING_ESTIMATE) {
    return `statement nesting too deep to analyse (estimate ${depth}, limit ${MAX_NESTING_ESTIMATE})`;
  }
  if (pgQueryRestarting()) return PARSER_RESTARTING;
  return null;
}

export type RawParseResult = { ok: true; stmts: RawStmt[] } | { ok: false; error: string };

/**
 * Parses `text` into raw statements; a syntax error is a result, not an exception. The empty text is an empty
 * query (no statements). Refused without parsing: a NUL character (the C parser would only see the text before
 * it) and nesting beyond MAX_NESTING_ESTIMATE (it would overflow the parser's stack).
 */
export function parseRaw(text: string): RawParseResult {
  assertLoaded();
  if (text.length === 0) return { ok: true, stmts: [] };
  const refused = refusal(text);
  if (refused !== null) return { ok: false, error: refused };
  let out: string;
  try {
    out = pgQueryParse(text);
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  if (!out.startsWith('{')) return { ok: false, error: out === '' ? 'the SQL parser failed' : out };
  const json = JSON.parse(out) as { stmts?: RawStmt[] };
  return { ok: true, stmts: json.stmts ?? [] };
}

/**
 * Fingerprint of the statement structure (constants, comments and layout ignored), e.g. '28550ea0fc43bed7';
 * `null` when `text` does not parse or is empty. Statements differing only in literal values share it.
 */
export function fingerprintSql(text: string): string | null {
  assertLoaded();
  if (text.trim().length === 0 || refusal(text) !== null) return null;
  try {
    // Success is 16 hex digits; anything else is the parser's error message.
    const fp = pgQueryFingerprint(text);
    return /^[0-9a-f]{16}$/.test(fp) ? fp : null;
  } catch {
    return null;
  }
}

/** `text` with every constant replaced by `$n` (comments and layout kept); `null` when it does not parse. */
export function normalizeSql(text: string): string | null {
  const parsed = parseRaw(text);
  if (!parsed.ok || parsed.stmts.length === 0) return null;
  try {
    return pgQueryNormalize(text);
  } catch {
    return null;
  }
}
