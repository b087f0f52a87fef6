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
 *
 * A prepared statement executed again gets the masker built for it before (the same decision's spec, statement
 * index and fields, the catalog at the same `catalogVersion`): a masker is a pure function of those. A masker built
 * while the catalog did not know one of the columns is never reused, so the next result set looks the column up
 * again (and the refresh that lookup schedules is not missed).
 */
export function createRowMaskerFactory(
  catalog?: ColumnCatalog,
  catalogVersion: () => number = () => 0,
): (fields: readonly RowField[], spec: MaskSpec, statement?: number) => ((raw: Buffer) => Buffer) | null {
  const cache = new WeakMap<MaskSpec, MaskerEntry[]>();
  return (fields, spec, statement = 0) => {
    const version = catalogVersion();
    const entries = cache.get(spec);
    const hit = entries?.find(
      (e) => e.statement === statement && e.version === version && sameFields(e.fields, fields),
    );
    if (hit) return hit.masker;
    let missed = false;
    const resolveColumn: ColumnCatalog | undefined =
      catalog &&
      ((oid, attnum) => {
        const origin = catalog(oid, attnum);
        if (origin === undefined) missed = true;
        return origin;
      });
    const derived = lineageColumns(spec, statement, fields.length);
    const masker =
      createDataRowMasker(fields, {
        columns: spec.columns,
        detectors: resolveDetectors(spec.detectors),
        ...(resolveColumn && { resolveColumn }),
        ...(derived && { derived }),
      })?.maskDataRow ?? null;
    if (!missed) {
      const list = entries ?? [];
      if (list.length >= MASKERS_PER_SPEC) list.shift();
      list.push({ statement, version, fields: [...fields], masker });
      if (!entries) cache.set(spec, list);
    }
    return masker;
  };
}

/** Maskers kept per decision's spec (one per statement index and column layout it answered recently). */
const MASKERS_PER_SPEC = 8;

type MaskerEntry = {
  statement: number;
  version: number;
  fields: readonly RowField[];
  masker: ((raw: Buffer) => Buffer) | null;
};

function sameFields(a: readonly RowField[], b: readonly RowField[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.name !== y.name ||
      x.tableOid !== y.tableOid ||
      x.columnAttr !== y.columnAttr ||
      x.typeOid !== y.typeOid ||
      x.typeSize !== y.typeSize ||
      x.typeMod !== y.typeMod ||
      x.format !== y.format
    )
      return false;
  }
  return true;
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
