import type { RawStmt } from '@pgsql/parser';
import { SqlParserNotLoadedError } from './errors.js';
import {
  loadPgQuery,
  pgQueryFingerprint,
  pgQueryLoaded,
  pgQueryNormalize,
  pgQueryParse,
} from './pg-query-wasm.js';

/** Loads the WebAssembly parser once. Await it at start-up before calling the synchronous helpers. */
export function loadSqlParser(): Promise<void> {
  return loadPgQuery();
}

export function isSqlParserLoaded(): boolean {
  return pgQueryLoaded();
}

function assertLoaded(): void {
  if (!pgQueryLoaded()) throw new SqlParserNotLoadedError();
}

export type RawParseResult = { ok: true; stmts: RawStmt[] } | { ok: false; error: string };

/**
 * Parses `text` into raw statements; a syntax error is a result, not an exception. The empty text is an empty
 * query (no statements). A NUL character is refused: the C parser would only see the text before it.
 */
export function parseRaw(text: string): RawParseResult {
  assertLoaded();
  if (text.length === 0) return { ok: true, stmts: [] };
  if (text.includes('\0')) return { ok: false, error: 'SQL text contains a NUL character' };
  const out = pgQueryParse(text);
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
  if (text.trim().length === 0 || text.includes('\0')) return null;
  // Success is 16 hex digits; anything else is the parser's error message.
  const fp = pgQueryFingerprint(text);
  return /^[0-9a-f]{16}$/.test(fp) ? fp : null;
}

/** `text` with every constant replaced by `$n` (comments and layout kept); `null` when it does not parse. */
export function normalizeSql(text: string): string | null {
  const parsed = parseRaw(text);
  if (!parsed.ok || parsed.stmts.length === 0) return null;
  return pgQueryNormalize(text);
}
