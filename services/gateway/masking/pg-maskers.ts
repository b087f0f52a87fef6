import type { RowField } from '../../shared/pg-wire/index.js';
import { PgProtocolError } from '../../shared/pg-wire/index.js';
import type { ColumnCatalog } from './column-match.js';
import { createDataRowMasker } from './data-row-masker.js';
import { ContentScanner } from './content-scanner.js';
import { applySpans } from './mask-content.js';
import type { StatementMask } from '../sql/lineage/index.js';
import { resolveDetectors } from './registry.js';
import { SpanList } from './span-list.js';

/** The masking part of a policy decision, with the lineage masks per statement (see sql/lineage). */
export interface MaskSpec {
  readonly columns: readonly string[];
  readonly detectors: readonly string[];
  readonly statements?: readonly StatementMask[];
}

/**
 * Which columns of a result set lineage masks whole: all of them when the statement is unknown or its column
 * count differs from the result's (the gateway's picture is wrong: fail closed).
 */
export function lineageColumns(
  spec: MaskSpec,
  statement: number,
  width: number,
): readonly boolean[] | undefined {
  if (spec.statements === undefined) return undefined;
  const s = spec.statements[statement];
  if (s === undefined || s.outputs === 'all') return new Array<boolean>(width).fill(true);
  if (s.outputs === 'none') return undefined;
  return s.outputs.length === width ? s.outputs : new Array<boolean>(width).fill(true);
}

/**
 * The gateway's per-connection factory of DataRow maskers: `(fields, spec)` gives `raw => raw'` for one result
 * set, or `null` when nothing in it can be masked. `fields` must carry the rows' real formats (apply the Bind's
 * result formats to a RowDescription that answered Describe(statement)). Unknown detector names throw
 * `UnknownDetectorError` (fail closed).
 */
export function createRowMaskerFactory(
  catalog?: ColumnCatalog,
): (fields: readonly RowField[], spec: MaskSpec, statement?: number) => ((raw: Buffer) => Buffer) | null {
  return (fields, spec, statement = 0) => {
    const derived = lineageColumns(spec, statement, fields.length);
    return (
      createDataRowMasker(fields, {
        columns: spec.columns,
        detectors: resolveDetectors(spec.detectors),
        ...(catalog && { resolveColumn: catalog }),
        ...(derived && { derived }),
      })?.maskDataRow ?? null
    );
  };
}

export interface CopyMaskerOptions {
  /** The COPY's overall format from CopyOutResponse: 0 text/CSV (default), 1 binary. */
  readonly format?: 0 | 1;
}

const WHOLE_ROW = Buffer.from('***\n');

function copyData(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0x64;
  out.writeInt32BE(payload.length + 4, 1);
  payload.copy(out, 5);
  return out;
}

/**
 * Masker of COPY … TO STDOUT output: takes one raw CopyData message ('d', length, data) and returns it, or a new
 * CopyData with the detectors' matches replaced in place (the replacement tokens contain no tab, comma, quote,
 * backslash or newline, so text and CSV rows keep their shape). `null` when the spec masks nothing.
 *
 * COPY output carries no column names: when `spec.columns` is not empty every row is replaced by the single
 * field `***` (over-masking rather than leaking; policy should rather refuse such COPYs). Binary COPY cannot be
 * masked in place: the masker throws `PgProtocolError` (0A000) so the gateway fails the statement.
 */
export function createCopyMasker(
  spec: MaskSpec,
  options: CopyMaskerOptions = {},
): ((raw: Buffer) => Buffer) | null {
  const detectors = resolveDetectors(spec.detectors);
  if (spec.columns.length === 0 && detectors.length === 0) return null;
  if (options.format === 1) {
    return () => {
      throw new PgProtocolError('binary COPY output cannot be masked', '0A000');
    };
  }
  if (spec.columns.length > 0) return () => copyData(WHOLE_ROW);
  const spans = new SpanList();
  const scanner = new ContentScanner(detectors);
  return (raw) => {
    if (raw.length < 5 || raw[0] !== 0x64 || raw.readInt32BE(1) !== raw.length - 1) {
      throw new PgProtocolError('malformed CopyData message');
    }
    scanner.scan(raw, 5, raw.length, spans);
    return spans.length === 0 ? raw : copyData(applySpans(raw, 5, raw.length, detectors, spans));
  };
}
