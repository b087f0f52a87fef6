import { SqlQuoteError } from '../errors.js';

/**
 * The one place where values become ClickHouse SQL text. ClickHouse 18.16 has no query parameters, so every value
 * is bound here as a literal, using only escapes that 18.16 and current releases parse the same way:
 *
 * - strings: `'…'` with `\\`, `\'` and `\xHH` for control bytes; other characters as UTF-8 (lone UTF-16
 *   surrogates become U+FFFD, as in every UTF-8 encoder);
 * - bytes (`Uint8Array`): `'…'` with every byte outside printable ASCII as `\xHH`, so the literal is pure ASCII
 *   and the stored `String` holds exactly those bytes;
 * - integers (safe `number`s and `bigint`s) as decimal digits, booleans as 1/0, arrays as `[…]`,
 *   `Date`s as `toDateTime(<unix seconds>)`;
 * - identifiers as back-quoted names.
 *
 * Callers build statements with the `sql` tag: every `${value}` is quoted by this module; a nested `sql` fragment
 * is inserted as SQL. Anywhere else in the recorder, SQL is never concatenated with values.
 */

const SQL = Symbol('gatehouse.sql');
const IDENT = Symbol('gatehouse.ident');

/** A piece of SQL text whose values were all quoted by this module. */
export type Sql = { readonly [SQL]: true; readonly text: string };
/** A table, column or database name. */
export type Identifier = { readonly [IDENT]: true; readonly name: string };

export type SqlValue =
  string | number | bigint | boolean | Date | Uint8Array | Sql | Identifier | readonly SqlValue[];

// Characters a string literal must not carry raw: the quote, the backslash, C0 controls and DEL, and unpaired
// surrogates (which have no UTF-8 encoding).
const STRING_SPECIALS =
  // eslint-disable-next-line no-control-regex
  /['\\\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HEX = '0123456789ABCDEF';

function escapeChar(ch: string): string {
  if (ch === "'") return "\\'";
  if (ch === '\\') return '\\\\';
  const code = ch.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdfff) return '\ufffd';
  return `\\x${HEX[code >> 4]}${HEX[code & 15]}`;
}

/** A string literal holding the UTF-8 encoding of `value`. */
export function quoteString(value: string): string {
  return `'${value.replace(STRING_SPECIALS, escapeChar)}'`;
}

const BACKSLASH = 0x5c;
const QUOTE = 0x27;
const HEX_CODES = Array.from(HEX, (c) => c.charCodeAt(0));

/** A string literal holding exactly `bytes` (binary safe). The literal itself is pure ASCII. */
export function quoteBytes(bytes: Uint8Array): string {
  const out = Buffer.allocUnsafe(bytes.length * 4 + 2);
  let o = 0;
  out[o++] = QUOTE;
  for (const b of bytes) {
    if (b === QUOTE || b === BACKSLASH) {
      out[o++] = BACKSLASH;
      out[o++] = b;
    } else if (b >= 0x20 && b < 0x7f) {
      out[o++] = b;
    } else {
      out[o++] = BACKSLASH;
      out[o++] = 0x78; // x
      out[o++] = HEX_CODES[b >> 4]!;
      out[o++] = HEX_CODES[b & 15]!;
    }
  }
  out[o++] = QUOTE;
  return out.toString('latin1', 0, o);
}

/** A decimal integer literal. Rejects fractions, NaN, infinities and numbers beyond 2^53 (use a bigint). */
export function quoteInteger(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isSafeInteger(value)) throw new SqlQuoteError(`not a safe integer: ${String(value)}`);
  return Object.is(value, -0) ? '0' : String(value);
}

/** Unix seconds of a `Date`, rounded down; rejects invalid dates and dates before 1970. */
export function unixSeconds(date: Date): number {
  const ms = date.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new SqlQuoteError('invalid or pre-1970 date');
  return Math.floor(ms / 1000);
}

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]{0,190}$/;

/** A table/column/database name. Only `[A-Za-z_][A-Za-z0-9_]*` is accepted, so names never need escaping. */
export function ident(name: string): Identifier {
  if (!IDENT_RE.test(name))
    throw new SqlQuoteError(`invalid identifier: ${JSON.stringify(name.slice(0, 64))}`);
  return { [IDENT]: true, name };
}

export function isSql(value: unknown): value is Sql {
  return typeof value === 'object' && value !== null && SQL in value;
}

function isIdent(value: unknown): value is Identifier {
  return typeof value === 'object' && value !== null && IDENT in value;
}

/** The SQL text of one value (see the module comment for the rules). */
export function quote(value: SqlValue): string {
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'number':
    case 'bigint':
      return quoteInteger(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'object':
      if (value instanceof Uint8Array) return quoteBytes(value);
      if (value instanceof Date) return `toDateTime(${unixSeconds(value)})`;
      if (Array.isArray(value)) return `[${(value as readonly SqlValue[]).map(quote).join(',')}]`;
      if (isSql(value)) return value.text;
      if (isIdent(value)) return `\`${value.name}\``;
      break;
    default:
      break;
  }
  throw new SqlQuoteError(`cannot quote a value of type ${typeof value}`);
}

function makeSql(text: string): Sql {
  return { [SQL]: true, text };
}

/** Tagged template: `sql\`SELECT x FROM ${ident(t)} WHERE id = ${id}\``. Every interpolation is quoted. */
export function sql(strings: TemplateStringsArray, ...values: readonly SqlValue[]): Sql {
  let text = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) text += quote(values[i]!) + (strings[i + 1] ?? '');
  return makeSql(text);
}

/** The right side of `x IN …`: `(v1, v2, …)`. Empty lists are rejected (`IN ()` is not valid SQL). */
export function inList(values: readonly SqlValue[]): Sql {
  if (values.length === 0) throw new SqlQuoteError('IN list is empty');
  return makeSql(`(${values.map(quote).join(', ')})`);
}

/**
 * SQL text from a reviewed file shipped with the recorder (schema migrations). Never for anything that contains a
 * value: values go through `sql`.
 */
export function trustedStatement(text: string): Sql {
  return makeSql(text);
}

/** Joins fragments with a separator fragment (`joinSql(parts, sql\` AND \`)`). */
export function joinSql(parts: readonly Sql[], separator: Sql): Sql {
  return makeSql(parts.map((p) => p.text).join(separator.text));
}

/**
 * One row of an `INSERT … VALUES` body: `(v1,v2,…)`. `DateTime` columns take unix seconds as plain integers here
 * (the VALUES parser reads them directly; no expression evaluation).
 */
export function valuesRow(
  values: readonly (string | number | bigint | boolean | Uint8Array | readonly string[])[],
): Sql {
  return makeSql(`(${values.map((v) => quote(v)).join(',')})`);
}
