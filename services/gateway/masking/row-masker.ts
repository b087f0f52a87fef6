import { BackendCode, dataRow, DataRowView } from '../postgres/codec/index.js';
import type { RowField } from '../postgres/codec/index.js';
import type { CopyMasker, MaskerFactory, MaskSpec, RowMasker } from '../postgres/response-pipeline.js';
import type { ColumnCatalog } from './catalog.js';
import { detectorsFor, maskText } from './detectors.js';

/** Text-like type OIDs: text, varchar, bpchar, name, char, json, jsonb, xml, unknown, citext-like (domain) none. */
const TEXTUAL = new Set([25, 1043, 1042, 19, 18, 114, 3802, 142, 705]);

/** Replacement for a masked text column. Non-text and binary-format columns become NULL, which every driver
 * accepts for any type (a fixed-size binary value of the wrong length would break it). */
const MASKED = Buffer.from('***');

type ColumnAction = 0 | 1 | 2; // 0 keep, 1 mask whole value, 2 run detectors

/**
 * Builds DataRow maskers for a result's columns. A column is masked when the decision names it as
 * `table.column` or `schema.table.column` (matched through the catalog by the column's table OID and attribute
 * number, so aliases do not escape), or — when its table is unknown to the catalog — when its name matches the
 * column part of any entry (fail closed). Detectors run over text-format, text-typed values.
 */
export function createRowMaskerFactory(catalog: ColumnCatalog): MaskerFactory {
  return (fields: readonly RowField[], spec: MaskSpec): RowMasker | null => {
    const wanted = new Set(spec.columns.map((c) => c.toLowerCase()));
    const bareNames = new Set([...wanted].map((c) => c.split('.').at(-1)!));
    const detectors = detectorsFor(spec.detectors);
    const actions: ColumnAction[] = fields.map((f) => {
      if (wanted.size > 0 && f.tableOid !== 0) {
        const origin = catalog(f.tableOid, f.columnAttr);
        const hit = origin
          ? wanted.has(`${origin.table}.${origin.column}`) ||
            wanted.has(`${origin.schema}.${origin.table}.${origin.column}`)
          : bareNames.has(f.name.toLowerCase());
        if (hit) return 1;
      }
      if (detectors.length > 0 && f.format === 0 && TEXTUAL.has(f.typeOid)) return 2;
      return 0;
    });
    if (actions.every((a) => a === 0)) return null;
    const textual = fields.map((f) => f.format === 0 && TEXTUAL.has(f.typeOid));
    return (raw: Buffer): Buffer => {
      if (raw[0] !== BackendCode.DataRow) return raw;
      const row = new DataRowView(raw.subarray(5));
      let values: (Buffer | null)[] | null = null;
      for (let i = 0; i < row.length && i < actions.length; i++) {
        const action = actions[i];
        if (action === 0 || row.isNull(i)) continue;
        let replacement: Buffer | null;
        if (action === 1) {
          replacement = textual[i] ? MASKED : null;
        } else {
          const text = row.text(i)!;
          const masked = maskText(text, detectors);
          if (masked === text) continue;
          replacement = Buffer.from(masked, 'utf8');
        }
        values ??= Array.from({ length: row.length }, (_, j) => row.value(j));
        values[i] = replacement;
      }
      return values ? dataRow(values) : raw;
    };
  };
}

/** COPY … TO STDOUT data: detectors over each CopyData message (text format). Column masks cannot apply to COPY;
 * the example policy refuses COPY TO for callers whose results need column masking. */
export function createCopyMasker(spec: MaskSpec): CopyMasker {
  if (spec.detectors.length === 0) return null;
  const detectors = detectorsFor(spec.detectors);
  return (raw: Buffer): Buffer => {
    const text = raw.toString('utf8', 5);
    const masked = maskText(text, detectors);
    if (masked === text) return raw;
    const body = Buffer.from(masked, 'utf8');
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = raw[0]!;
    out.writeInt32BE(body.length + 4, 1);
    body.copy(out, 5);
    return out;
  };
}
