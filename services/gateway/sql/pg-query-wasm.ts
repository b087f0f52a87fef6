import { createRequire } from 'node:module';

/*
 * A direct binding to libpg_query (PostgreSQL 17's parser) as compiled to WebAssembly by `@pgsql/parser`.
 *
 * The package's JavaScript wrappers decide success by looking for the text "ERROR" in the result and otherwise
 * JSON-parse it, so `select 'ERROR'` fails and most parser errors ("unterminated quoted string…") turn into JSON
 * syntax errors. The C functions underneath return either the result or the error message; a parse tree is JSON
 * and always starts with '{', which an error message never does. We call them directly.
 *
 * Deep parse trees overflow the module's small stack (see nesting-guard.ts, which keeps such texts away). If the
 * instance traps anyway it is discarded and a fresh one is loaded in the background.
 *
 * `@pgsql/parser/wasm/libpg-query.js` is the package's emscripten module factory (CommonJS); its location is
 * checked by the unit tests, so an upgrade that moves it fails loudly.
 */

interface PgQueryModule {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query(queryPtr: number): number;
  _wasm_fingerprint(queryPtr: number): number;
  _wasm_normalize_query(queryPtr: number): number;
  _wasm_scan(queryPtr: number): number;
  _wasm_free_string(ptr: number): void;
  lengthBytesUTF8(s: string): number;
  stringToUTF8(s: string, ptr: number, maxBytes: number): void;
  UTF8ToString(ptr: number): string;
}

type Factory = () => Promise<PgQueryModule>;

let module: PgQueryModule | null = null;
let loading: Promise<void> | null = null;
let everLoaded = false;

export function loadPgQuery(): Promise<void> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    const factory = require('@pgsql/parser/wasm/libpg-query.js') as Factory;
    module = await factory();
    everLoaded = true;
  })().catch((err: unknown) => {
    loading = null;
    throw err;
  });
  return loading;
}

export function pgQueryLoaded(): boolean {
  return module !== null;
}

/** True after a trap discarded the instance and a fresh one is still loading. */
export function pgQueryRestarting(): boolean {
  return module === null && everLoaded;
}

/** Thrown when the WebAssembly instance trapped; it has been discarded and a fresh one is loading. */
export class PgQueryTrapError extends Error {
  static readonly MESSAGE = 'the SQL parser trapped and is being restarted';

  constructor(options: { cause: unknown }) {
    super(PgQueryTrapError.MESSAGE, options);
  }
}

/** Calls one `char* f(const char*)` export with `input` and returns the string it produced. */
function call(fn: 'parse' | 'fingerprint' | 'normalize' | 'scan', input: string): string {
  const m = module;
  if (m === null) throw new Error('libpg_query is not loaded');
  const size = m.lengthBytesUTF8(input) + 1;
  const inputPtr = m._malloc(size);
  let resultPtr = 0;
  const exitCode = process.exitCode;
  try {
    m.stringToUTF8(input, inputPtr, size);
    resultPtr =
      fn === 'parse'
        ? m._wasm_parse_query(inputPtr)
        : fn === 'fingerprint'
          ? m._wasm_fingerprint(inputPtr)
          : fn === 'scan'
            ? m._wasm_scan(inputPtr)
            : m._wasm_normalize_query(inputPtr);
    const out = resultPtr === 0 ? '' : m.UTF8ToString(resultPtr);
    m._free(inputPtr);
    if (resultPtr !== 0) m._wasm_free_string(resultPtr);
    return out;
  } catch (err) {
    // A trap (stack overflow, exit()) leaves the instance's memory undefined: never use it again. The module's
    // exit() also sets process.exitCode; the gateway has not failed, so restore it.
    process.exitCode = exitCode;
    module = null;
    loading = null;
    loadPgQuery().catch(() => undefined);
    throw new PgQueryTrapError({ cause: err });
  }
}

/** The JSON parse tree (starts with '{') or the parser's error message. `input` must be non-empty. */
export function pgQueryParse(input: string): string {
  return call('parse', input);
}

/** The 16-hex-digit fingerprint or the parser's error message. */
export function pgQueryFingerprint(input: string): string {
  return call('fingerprint', input);
}

/** The normalized text or the parser's error message (only call it on text known to parse). */
export function pgQueryNormalize(input: string): string {
  return call('normalize', input);
}

/** The scanner's tokens as JSON (`{"tokens":[{start,end,text,keywordKind,…}]}`, UTF-8 byte offsets) or an error. */
export function pgQueryScan(input: string): string {
  return call('scan', input);
}
