import type { RowField } from '../../shared/pg-wire/index.js';
import { safeInline } from './safe-text.js';

// Types psql right-aligns: int2, int4, int8, oid, float4, float8, numeric, money.
const NUMERIC_OIDS = new Set([20, 21, 23, 26, 700, 701, 790, 1700]);

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A column value as psql prints it: text format as text, binary format as `\x` hex, NULL as empty. */
export function formatValue(value: Uint8Array | null, format: number): string {
  if (value === null) return '';
  if (format === 1) return `\\x${Buffer.from(value).toString('hex')}`;
  return safeInline(utf8.decode(value));
}

function center(text: string, width: number): string {
  const total = width - text.length;
  const left = Math.floor(total / 2);
  return ' '.repeat(left) + text + ' '.repeat(total - left);
}

/**
 * A psql-like aligned table (`psql` default output): centred headers, a `-+-` rule, numbers right-aligned, then
 * `(N rows)`. `hiddenRows` adds a line for rows that were received but not printed.
 */
export function renderTable(
  fields: readonly RowField[],
  rows: readonly (readonly string[])[],
  hiddenRows = 0,
): string[] {
  const names = fields.map((f) => safeInline(f.name));
  const widths = names.map((n, i) => Math.max(n.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = fields.map((f) => NUMERIC_OIDS.has(f.typeOid));
  const line = (cells: string[]): string =>
    cells
      .map((c) => ` ${c} `)
      .join('|')
      .trimEnd();
  const out = [
    line(names.map((n, i) => center(n, widths[i]!))),
    widths.map((w) => '-'.repeat(w + 2)).join('+'),
  ];
  for (const row of rows) {
    out.push(line(widths.map((w, i) => (right[i] ? (row[i] ?? '').padStart(w) : (row[i] ?? '').padEnd(w)))));
  }
  if (hiddenRows > 0) out.push(`… ${hiddenRows} more ${hiddenRows === 1 ? 'row' : 'rows'} not shown`);
  const total = rows.length + hiddenRows;
  out.push(`(${total} ${total === 1 ? 'row' : 'rows'})`);
  return out;
}
