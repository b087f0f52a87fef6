import { ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { EventBody } from '../../shared/events/session-events.js';
import { zeroMessage } from '../../shared/events/zero-message.js';
import { resolveDetectors } from '../masking/index.js';
import { MASK_ALL } from '../sql/lineage/index.js';
import type { StatementMask } from '../sql/lineage/index.js';
import {
  BackendCode,
  dataRow,
  decodeNoticeFields,
  decodeRowDescription,
  errorResponse,
} from '../../shared/pg-wire/index.js';
import type { BackendFrame, RowField } from '../../shared/pg-wire/index.js';
import { concatAdjacent } from './adjacent-views.js';
import { maskServerText } from './server-text.js';

/** Rewrites one DataRow message (returns the same buffer when nothing was masked). */
export type RowMasker = (raw: Buffer) => Buffer;
export type MaskSpec = {
  readonly columns: readonly string[];
  readonly detectors: readonly string[];
  /**
   * Lineage masks per statement of the request (from the decision's columns, see sql/lineage): present whenever
   * `columns` is not empty; a statement past its end is masked whole.
   */
  readonly statements?: readonly StatementMask[];
};
/** Builds the masker of one result set: `statement` is the index of the statement (in its request) it answers. */
export type MaskerFactory = (
  fields: readonly RowField[],
  spec: MaskSpec,
  statement: number,
) => RowMasker | null;
export type CopyMasker = ((data: Buffer) => Buffer) | null;

/** A refused request: the probe the gateway sent upstream in its place fails with an error naming `token`, which is
 * replaced by this error, so the client sees it exactly where the statement's own result would have been. */
export type Denial = { token: string; sqlstate: string; message: string; detail: string };

/** What the gateway expects upstream to answer, in the order it forwarded the messages. */
export type Expectation =
  | { kind: 'query'; requestId: number; mask: MaskSpec | null; denial: Denial | null }
  | { kind: 'parse' }
  | { kind: 'bind'; denial: Denial | null }
  | {
      kind: 'describe';
      injected: boolean;
      /** Called with the RowDescription (or null for NoData) so statements and portals learn their columns. */
      onFields: (fields: readonly RowField[] | null) => void;
    }
  | { kind: 'execute'; requestId: number; mask: MaskSpec | null; fields: () => readonly RowField[] | null }
  | { kind: 'close' }
  | { kind: 'sync' };

export type PipelineLimits = { rowsPerEvent: number; bytesPerEvent: number };

/**
 * Upstream → client: forwards server messages, masks DataRows with the mask of the request they answer, swaps
 * denial probes' errors for the policy's error, and turns everything the client receives into audit event bodies
 * (DataRows in bounded batches, never one event per row). Pure apart from the callbacks: bytes in, bytes and event
 * bodies out.
 */
export class ResponsePipeline {
  readonly #fifo: Expectation[] = [];
  readonly #maskerFactory: MaskerFactory;
  readonly #copyMasker: (spec: MaskSpec) => CopyMasker;
  readonly #limits: PipelineLimits;
  #masker: RowMasker | null = null;
  #active: Expectation | undefined;
  #copy: CopyMasker = null;
  #requestId = 0;
  /** Index of the statement of the active request whose results are arriving (simple queries may hold several). */
  #statement = 0;
  #rows: Buffer[] = [];
  #rowBytes = 0;
  #rowsFrame: 'data_rows' | 'copy_out' = 'data_rows';
  /** The last RowDescription (a copy of its payload) and what it decoded to. */
  #description: { payload: Buffer; fields: readonly RowField[]; names: string } | undefined;

  constructor(
    maskerFactory: MaskerFactory,
    copyMasker: (spec: MaskSpec) => CopyMasker,
    limits: PipelineLimits,
  ) {
    this.#maskerFactory = maskerFactory;
    this.#copyMasker = copyMasker;
    this.#limits = limits;
  }

  expect(e: Expectation): void {
    this.#fifo.push(e);
  }

  /**
   * Handles one upstream frame: pushes what the client must receive to `out`, audit bodies to `events`.
   */
  handle(f: BackendFrame, out: Buffer[], events: EventBody[]): void {
    const head = this.#fifo[0];
    if (head !== this.#active && (head?.kind === 'execute' || head?.kind === 'query')) {
      this.#active = head;
      this.#requestId = head.requestId;
      this.#statement = 0;
      this.#masker = head.kind === 'execute' && head.mask ? this.#makeMasker(head.fields(), head.mask) : null;
    }
    switch (f.code) {
      case BackendCode.DataRow: {
        const raw = this.#masker ? this.#masker(f.raw) : f.raw;
        this.#addRow(raw, 'data_rows', events);
        out.push(raw);
        return;
      }
      case BackendCode.CopyData: {
        const raw = this.#copy ? this.#copy(f.raw) : f.raw;
        this.#addRow(raw, 'copy_out', events);
        out.push(raw);
        return;
      }
      case BackendCode.RowDescription: {
        const { fields, names } = this.#describe(f.payload);
        if (head?.kind === 'describe') {
          this.#fifo.shift();
          head.onFields(fields);
          if (head.injected) return;
        } else if (head?.kind === 'query') {
          this.#masker = head.mask ? this.#makeMasker(fields, head.mask) : null;
        }
        this.#flushRows(events);
        events.push(frame(this.#requestId, 'row_description', f.raw, 0, names, ''));
        out.push(f.raw);
        return;
      }
      case BackendCode.NoData: {
        if (head?.kind === 'describe') {
          this.#fifo.shift();
          head.onFields(null);
          if (head.injected) return;
        }
        out.push(f.raw);
        return;
      }
      case BackendCode.ParameterDescription:
        out.push(f.raw);
        return;
      case BackendCode.ParseComplete:
      case BackendCode.BindComplete:
      case BackendCode.CloseComplete:
        if (head && (head.kind === 'parse' || head.kind === 'bind' || head.kind === 'close'))
          this.#fifo.shift();
        out.push(f.raw);
        return;
      case BackendCode.CommandComplete:
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended: {
        const tag =
          f.code === BackendCode.CommandComplete ? f.payload.toString('utf8', 0, f.payload.length - 1) : '';
        // The completion travels in the same event as the rows it ends (one event per result, not two).
        this.#rows.push(f.raw);
        this.#rowBytes += f.raw.length;
        this.#flushRows(events, tag);
        if (head?.kind === 'execute') this.#fifo.shift();
        else if (head?.kind === 'query' && f.code !== BackendCode.PortalSuspended) this.#statement++;
        this.#masker = null;
        this.#copy = null;
        out.push(f.raw);
        return;
      }
      case BackendCode.CopyOutResponse:
      case BackendCode.CopyInResponse:
      case BackendCode.CopyBothResponse: {
        const mask = head?.kind === 'query' || head?.kind === 'execute' ? head.mask : null;
        this.#copy = mask ? this.#copyMasker(this.#copySpec(mask)) : null;
        events.push(frame(this.#requestId, 'copy_start', f.raw, 0, '', ''));
        out.push(f.raw);
        return;
      }
      case BackendCode.ErrorResponse:
        this.#onError(f, head, out, events);
        return;
      case BackendCode.NoticeResponse: {
        const n = decodeNoticeFields(f.payload);
        const masked = this.#serverText(f, n, head);
        events.push(frame(this.#requestId, 'notice', masked.raw, 0, masked.message, n.code ?? ''));
        out.push(masked.raw);
        return;
      }
      case BackendCode.ReadyForQuery: {
        this.#flushRows(events);
        // Whatever the server skipped after an error is answered by this ReadyForQuery.
        while (this.#fifo.length > 0) {
          const e = this.#fifo.shift()!;
          if (e.kind === 'query' || e.kind === 'sync') break;
        }
        this.#masker = null;
        this.#copy = null;
        out.push(f.raw);
        return;
      }
      default:
        out.push(f.raw); // ParameterStatus, NotificationResponse, FunctionCallResponse, …
    }
  }

  /**
   * The columns of a RowDescription, and their names as recorded: decoded again only when it differs from the
   * previous one (a prepared statement executed again gets the same description, and the same frozen fields).
   */
  #describe(payload: Buffer): { fields: readonly RowField[]; names: string } {
    const last = this.#description;
    if (last !== undefined && last.payload.equals(payload)) return last;
    const fields = Object.freeze(decodeRowDescription(payload).map((x) => Object.freeze(x)));
    this.#description = { payload: Buffer.from(payload), fields, names: fields.map((x) => x.name).join(',') };
    return this.#description;
  }

  /** Emits the pending row batch (call at the end of each upstream chunk, before writing to the client). */
  endChunk(events: EventBody[]): void {
    this.#flushRows(events);
  }

  #onError(f: BackendFrame, head: Expectation | undefined, out: Buffer[], events: EventBody[]): void {
    this.#flushRows(events);
    const n = decodeNoticeFields(f.payload);
    const denial = head && (head.kind === 'query' || head.kind === 'bind') ? head.denial : null;
    let { raw, message } = this.#serverText(f, n, head);
    let code = n.code ?? '';
    if (denial && (n.message ?? '').includes(denial.token)) {
      raw = errorResponse({
        severity: 'ERROR',
        code: denial.sqlstate,
        message: denial.message,
        detail: denial.detail,
      });
      code = denial.sqlstate;
      message = denial.message;
    }
    events.push(frame(this.#requestId, 'error', raw, 0, message, code));
    // In the extended protocol the server skips everything up to Sync; a simple query ends at ReadyForQuery.
    if (head && head.kind !== 'query') {
      while (this.#fifo.length > 0 && this.#fifo[0]!.kind !== 'sync') this.#fifo.shift();
    }
    this.#masker = null;
    this.#copy = null;
    out.push(raw);
  }

  /** Without the columns (they should always be known: the session injects a Describe) every value is hidden. */
  #makeMasker(fields: readonly RowField[] | null, mask: MaskSpec): RowMasker | null {
    if (fields) return this.#maskerFactory(fields, mask, this.#statement);
    return (raw) => nullRow(raw);
  }

  /** The lineage mask of the statement whose results are arriving; null when the request has no column masking. */
  #statementMask(mask: MaskSpec | null): StatementMask | null {
    if (!mask?.statements) return null;
    return mask.statements[this.#statement] ?? MASK_ALL;
  }

  /** COPY output has no column names: masked whole only when the statement's lineage reaches a masked column. */
  #copySpec(mask: MaskSpec): MaskSpec {
    const s = this.#statementMask(mask);
    if (s === null || s.outputs === 'all' || (Array.isArray(s.outputs) && s.outputs.includes(true)))
      return mask;
    return { ...mask, columns: [] };
  }

  /** The server's error or notice text, withheld or scanned by the detectors (see server-text.ts). */
  #serverText(
    f: BackendFrame,
    n: ReturnType<typeof decodeNoticeFields>,
    head: Expectation | undefined,
  ): { raw: Buffer; message: string } {
    const mask = head?.kind === 'query' || head?.kind === 'execute' ? head.mask : null;
    if (mask === null) return { raw: f.raw, message: n.message ?? '' };
    if (this.#statementMask(mask)?.redact === true) return maskServerText(f.code, f.raw, n, { redact: true });
    return maskServerText(f.code, f.raw, n, { redact: false, detectors: resolveDetectors(mask.detectors) });
  }

  #addRow(raw: Buffer, kind: 'data_rows' | 'copy_out', events: EventBody[]): void {
    if (this.#rows.length > 0 && this.#rowsFrame !== kind) this.#flushRows(events);
    this.#rowsFrame = kind;
    this.#rows.push(raw);
    this.#rowBytes += raw.length;
    if (this.#rows.length >= this.#limits.rowsPerEvent || this.#rowBytes >= this.#limits.bytesPerEvent) {
      this.#flushRows(events);
    }
  }

  /** Emits the pending rows as one event; with `tag`, the batch ends with the CommandComplete (frame `result`). */
  #flushRows(events: EventBody[], tag?: string): void {
    if (this.#rows.length === 0) return;
    const data = concatAdjacent(this.#rows, this.#rowBytes);
    const rows = tag === undefined ? this.#rows.length : this.#rows.length - 1;
    const name = tag === undefined ? this.#rowsFrame : this.#rowsFrame === 'copy_out' ? 'copy_out' : 'result';
    events.push(frame(this.#requestId, name, data, rows, tag ?? '', ''));
    this.#rows = [];
    this.#rowBytes = 0;
  }
}

function nullRow(raw: Buffer): Buffer {
  const columns = raw.readUInt16BE(5);
  return dataRow(new Array<null>(columns).fill(null));
}

const ZERO_RESPONSE = zeroMessage(ResponseSchema);

function frame(
  requestId: number,
  name: string,
  data: Buffer,
  rows: number,
  text: string,
  code: string,
): EventBody {
  return {
    case: 'response',
    value: { ...ZERO_RESPONSE, requestId, frame: name, data, rows, text, code },
  };
}
