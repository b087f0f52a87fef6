import type { RowField } from '../../shared/pg-wire/index.js';
import { PgProtocolError } from '../../shared/pg-wire/index.js';
import { matchColumns } from './column-match.js';
import type { ColumnCatalog } from './column-match.js';
import type { Detector } from './detector.js';
import { ContentScanner } from './content-scanner.js';
import { applySpans } from './mask-content.js';
import { decodeByteaText } from './bytea.js';
import {
  BYTEA_OID,
  JSON_OID,
  JSONB_OID,
  TEXTUAL_ARRAY_OIDS,
  TEXTUAL_OIDS,
  UNSCANNED_OIDS,
} from './pg-type-oids.js';
import { SpanList } from './span-list.js';

/*
 * Masking of PostgreSQL DataRow messages, decided once per result set (RowDescription) and applied per row.
 *
 * Columns named by `mask.columns`:
 * - textual types (text, varchar, char, name, unknown, xml, and `textTypeOids` such as citext): the value
 *   becomes '***' (the same bytes in text and binary format);
 * - json: '"***"'; jsonb: '"***"' in text format, version byte 1 + '"***"' in binary format (valid JSON, so
 *   drivers that parse JSON keep working);
 * - every other type becomes NULL: '***' is not a valid int, date, array…, and in binary format a value of the
 *   wrong length breaks drivers. NULL stays NULL.
 *
 * Content detectors (`mask.detectors`) on the other columns:
 * - textual and JSON types, text or binary format (binary text is the UTF-8 itself; jsonb after its version
 *   byte), and arrays of them in text format: each match is replaced in place by the detector's token;
 * - other types in text format (int8, numeric, user-defined types, other arrays, composites…), except the
 *   types that cannot hold such content (UNSCANNED_OIDS): a value with any match becomes NULL;
 * - bytea: text format (hex or escape output) is decoded first, binary format scanned as is; a match makes the
 *   value NULL; other binary-format values (arrays, records, …) are scanned as raw bytes (their text parts are
 *   UTF-8), a match makes the value NULL; numbers, dates and the like in binary format are not scanned.
 * Escaped content (JSON \u0040, array backslash escapes) is not decoded.
 *
 * `fields[i].format` must be the format the rows really use: for a RowDescription answering Describe(statement),
 * apply the Bind's result formats first (applyResultFormats).
 */

const NONE = 0;
const FIXED = 1;
const REPLACE = 2;
const TO_NULL = 3;
/** bytea in text format: decoded (hex or escape output) and scanned; a value with a match becomes NULL. */
const BYTEA_TEXT = 4;

const STARS = Buffer.from('***');
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const JSON_STARS = Buffer.from('"***"');
const JSONB_BINARY_STARS = Buffer.from('\x01"***"', 'latin1');

export interface DataRowMaskerOptions {
  /** `mask.columns` of the decision. */
  readonly columns?: readonly string[];
  /** The resolved `mask.detectors` of the decision (see resolveDetectors). */
  readonly detectors?: readonly Detector[];
  /** Source table/column of RowDescription fields, filled by the gateway from the catalog. */
  readonly resolveColumn?: ColumnCatalog;
  /** Columns masked whole by lineage (derived from a masked column), by index; OR-ed with `columns`. */
  readonly derived?: readonly boolean[];
  /** OIDs of non-built-in textual types (citext, …) to treat like text. */
  readonly textTypeOids?: Iterable<number>;
}

export interface DataRowMaskerStats {
  readonly rows: number;
  /** Rows returned changed. */
  readonly maskedRows: number;
  /** Values masked by column name. */
  readonly maskedColumnValues: number;
  /** Matches per detector name. */
  readonly detections: Readonly<Record<string, number>>;
}

export interface DataRowMasker {
  /**
   * Masks one complete DataRow message ('D', length, values). Returns the same Buffer object when nothing
   * changed; otherwise a new, valid DataRow. Throws `PgProtocolError` when the message is malformed or its
   * column count differs from the RowDescription.
   */
  readonly maskDataRow: (raw: Buffer) => Buffer;
  /** Indexes of the columns masked by name. */
  readonly maskedColumns: readonly number[];
  stats(): DataRowMaskerStats;
}

function fixedReplacement(f: RowField, textual: ReadonlySet<number>): Buffer | null {
  if (textual.has(f.typeOid) || TEXTUAL_OIDS.has(f.typeOid) || f.typeOid === BYTEA_OID) return STARS;
  if (f.typeOid === JSON_OID) return JSON_STARS;
  if (f.typeOid === JSONB_OID) return f.format === 1 ? JSONB_BINARY_STARS : JSON_STARS;
  return null;
}

function detectAction(f: RowField, textual: ReadonlySet<number>): [action: number, offset: number] {
  if (textual.has(f.typeOid) || TEXTUAL_OIDS.has(f.typeOid) || f.typeOid === JSON_OID) return [REPLACE, 0];
  if (f.typeOid === JSONB_OID) return [REPLACE, f.format === 1 ? 1 : 0];
  if (f.typeOid === BYTEA_OID) return [f.format === 1 ? TO_NULL : BYTEA_TEXT, 0];
  if (UNSCANNED_OIDS.has(f.typeOid)) return [NONE, 0];
  // Binary arrays, records, …: their text elements are raw UTF-8. Binary numbers are not text at all.
  if (f.format === 1) return [f.typeOid === INT8_OID || f.typeOid === NUMERIC_OID ? NONE : TO_NULL, 0];
  if (TEXTUAL_ARRAY_OIDS.has(f.typeOid)) return [REPLACE, 0];
  return [TO_NULL, 0];
}

function malformed(reason: string): PgProtocolError {
  return new PgProtocolError(`malformed DataRow message: ${reason}`);
}

/**
 * Plans masking for one result set. Returns `null` when no row of it can ever change (no column named, no
 * detectors or no scannable column): forward rows untouched.
 */
export function createDataRowMasker(
  fields: readonly RowField[],
  options: DataRowMaskerOptions,
): DataRowMasker | null {
  const n = fields.length;
  const detectors = options.detectors ?? [];
  const textual = new Set(options.textTypeOids ?? []);
  const named = options.columns?.length ? matchColumns(fields, options.columns, options.resolveColumn) : [];
  const action = new Uint8Array(n);
  const offset = new Uint8Array(n);
  const fixed: (Buffer | null)[] = new Array<Buffer | null>(n).fill(null);
  for (let i = 0; i < n; i++) {
    const f = fields[i]!;
    if (named[i] === true || options.derived?.[i] === true) {
      action[i] = FIXED;
      fixed[i] = fixedReplacement(f, textual);
    } else if (detectors.length > 0) {
      [action[i], offset[i]] = detectAction(f, textual);
    }
  }
  if (action.every((a) => a === NONE)) return null;

  const scanner = new ContentScanner(detectors);
  const spans = new SpanList();
  const editAt = new Int32Array(n);
  const editEnd = new Int32Array(n);
  const editValue = new Array<Buffer | null>(n).fill(null);
  const detections = new Float64Array(detectors.length);
  let rows = 0;
  let maskedRows = 0;
  let maskedColumnValues = 0;

  const maskDataRow = (raw: Buffer): Buffer => {
    rows++;
    if (raw.length < 7 || raw[0] !== 0x44) throw malformed('not a DataRow');
    if (raw.readInt32BE(1) !== raw.length - 1) throw malformed('length does not match the message');
    if (raw.readUInt16BE(5) !== n) throw malformed(`${raw.readUInt16BE(5)} values for ${n} columns`);
    let edits = 0;
    let pos = 7;
    for (let i = 0; i < n; i++) {
      if (pos + 4 > raw.length) throw malformed('truncated');
      const len = raw.readInt32BE(pos);
      const start = pos + 4;
      if (len === -1) {
        pos = start;
        continue;
      }
      if (len < 0 || start + len > raw.length) throw malformed(`invalid value length ${len}`);
      const end = start + len;
      const a = action[i]!;
      if (a === FIXED) {
        editAt[edits] = pos;
        editEnd[edits] = end;
        editValue[edits] = fixed[i]!;
        edits++;
        maskedColumnValues++;
      } else if (a !== NONE) {
        const from = start + offset[i]!;
        if (offset[i] === 1 && (len === 0 || raw[start] !== 1)) {
          pos = end; // unknown jsonb binary version: leave as is
          continue;
        }
        if (a === BYTEA_TEXT) {
          const bytes = decodeByteaText(raw, start, end);
          scanner.scan(bytes, 0, bytes.length, spans);
        } else scanner.scan(raw, from, end, spans);
        if (spans.length > 0) {
          for (let s = 0; s < spans.length; s++) detections[spans.detector(s)]!++;
          editAt[edits] = pos;
          editEnd[edits] = end;
          editValue[edits] =
            a === TO_NULL || a === BYTEA_TEXT
              ? null
              : prefixed(raw, start, from, applySpans(raw, from, end, detectors, spans));
          edits++;
        }
      }
      pos = end;
    }
    if (pos !== raw.length) throw malformed('unexpected trailing bytes');
    if (edits === 0) return raw;
    maskedRows++;
    return rebuild(raw, edits, editAt, editEnd, editValue);
  };

  return {
    maskDataRow,
    maskedColumns: fields.flatMap((_, i) => (named[i] === true || options.derived?.[i] === true ? [i] : [])),
    stats: () => ({
      rows,
      maskedRows,
      maskedColumnValues,
      detections: Object.fromEntries(detectors.map((d, k) => [d.name, detections[k]!])),
    }),
  };
}

/** The masked value with the bytes before `from` (jsonb's version byte) put back in front. */
function prefixed(raw: Buffer, start: number, from: number, masked: Buffer): Buffer {
  return from === start ? masked : Buffer.concat([raw.subarray(start, from), masked]);
}

/** A new DataRow with the values at [editAt[e], editEnd[e]) (length field included) replaced. */
function rebuild(
  raw: Buffer,
  edits: number,
  editAt: Int32Array,
  editEnd: Int32Array,
  editValue: (Buffer | null)[],
): Buffer {
  let size = raw.length;
  for (let e = 0; e < edits; e++) {
    size += 4 + (editValue[e]?.length ?? 0) - (editEnd[e]! - editAt[e]!);
  }
  const out = Buffer.allocUnsafe(size);
  let src = 0;
  let dst = 0;
  for (let e = 0; e < edits; e++) {
    const at = editAt[e]!;
    dst += raw.copy(out, dst, src, at);
    const v = editValue[e]!;
    if (v === null) {
      out.writeInt32BE(-1, dst);
      dst += 4;
    } else {
      out.writeInt32BE(v.length, dst);
      dst += 4 + v.copy(out, dst + 4);
    }
    editValue[e] = null;
    src = editEnd[e]!;
  }
  raw.copy(out, dst, src);
  out.writeInt32BE(size - 1, 1);
  return out;
}
