import { writeFileSync } from 'node:fs';
/** Plain-text tables, target marks and the `--json` file of the benches. */

/** A target of issue 14 with its measured value (`unit` 'x': a ratio that must reach `limit`; else at most). */
export type TargetCheck = {
  name: string;
  value: number;
  limit: number;
  unit: string;
  pass: boolean;
  note?: string;
};

export function check(
  name: string,
  value: number | null | undefined,
  limit: number,
  unit: string,
  note?: string,
): TargetCheck {
  const v = value ?? NaN;
  const pass = Number.isFinite(v) && (unit === 'x' ? v >= limit : v <= limit);
  return { name, value: v, limit, unit, pass, ...(note === undefined ? {} : { note }) };
}

export type Column = { header: string; width: number; align?: 'left' | 'right' };

export function formatRow(columns: readonly Column[], cells: readonly string[]): string {
  return columns
    .map((c, i) => {
      const cell = cells[i] ?? '';
      return c.align === 'left' ? cell.padEnd(c.width) : cell.padStart(c.width);
    })
    .join(' ')
    .trimEnd();
}

export function printTable(columns: readonly Column[], rows: readonly (readonly string[])[]): void {
  console.log(
    formatRow(
      columns,
      columns.map((c) => c.header),
    ),
  );
  for (const row of rows) console.log(formatRow(columns, row));
}

/** A number with `digits` decimals, or `-` when absent. */
export function fmt(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

export function printTargets(targets: readonly TargetCheck[]): void {
  console.log('\ntargets (issue 14; a bench, not a test):');
  for (const t of targets) {
    const mark = t.pass ? 'PASS' : 'FAIL';
    const cmp = t.unit === 'x' ? '≥' : '≤';
    const value = t.unit === 'x' ? `${fmt(t.value, 2)}x` : `${fmt(t.value, 1)} ${t.unit}`;
    const limit = t.unit === 'x' ? `${t.limit}x` : `${t.limit} ${t.unit}`;
    console.log(`  [${mark}] ${t.name}: ${value} (target ${cmp} ${limit})${t.note ? `  — ${t.note}` : ''}`);
  }
}

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}
