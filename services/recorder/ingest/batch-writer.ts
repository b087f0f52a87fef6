import type { Event } from '../../shared/events/codec.js';
import type { Logger } from '../../shared/logger.js';
import type { RecorderMetrics } from '../metrics.js';
import { APPROVAL_STREAM_PREFIX, approvalKey, requestKey, toEventRow } from '../store/event-row.js';
import type { EventRow, StatementLookup } from '../store/event-row.js';
import type { DeadLetter, EncodedEvents } from '../store/event-writer.js';
import type { EventStoreWriter } from '../store/recording-store.js';
import { foldInput } from '../store/session-fold.js';
import type { FoldedRow } from '../store/session-fold.js';
import type { IngestItem } from './decode-records.js';
import type { StatementCache } from './statement-cache.js';

/**
 * One partition batch's items as a write needs them, made when the batch arrives (`BatchWriter.prepare`): the rows
 * already encoded when the store encodes ahead (ClickHouse), else as rows; what the session fold reads; the dead
 * letters; and the few events whose request text is not known yet (labelled at the write, see `prepare`).
 */
export type PreparedBatch = {
  readonly encoded: readonly EncodedEvents[];
  readonly rows: readonly EventRow[];
  readonly fold: readonly FoldedRow[];
  readonly late: readonly IngestItem[];
  readonly dead: readonly DeadLetter[];
  /** Rows and dead letters (what `batch.maxRows` counts). */
  readonly size: number;
};

/**
 * Writes batches: event rows, dead letters, then the summaries of the sessions the rows touched. Safe to run
 * again with the same batches (a retry, or a redelivery after a crash): rows collapse on their keys and summaries
 * skip events they counted.
 */
export class BatchWriter {
  readonly #writer: EventStoreWriter;
  readonly #cache: StatementCache;
  readonly #maxRows: number;
  readonly #metrics: RecorderMetrics;
  readonly #log: Logger;
  readonly #lookup: StatementLookup;

  constructor(opts: {
    writer: EventStoreWriter;
    cache: StatementCache;
    maxRows: number;
    metrics: RecorderMetrics;
    log: Logger;
  }) {
    this.#writer = opts.writer;
    this.#cache = opts.cache;
    this.#maxRows = opts.maxRows;
    this.#metrics = opts.metrics;
    this.#log = opts.log;
    this.#lookup = {
      byRequest: (sessionId, requestId) => this.#cache.get(requestKey(sessionId, requestId)),
      byApproval: (approvalId) => this.#cache.get(approvalKey(approvalId)),
    };
  }

  /**
   * Turns a partition batch into rows as it arrives (synchronously, in order, taking the items as it goes), so that
   * a write holds bytes rather than decoded events. Request texts are remembered as their requests pass; a decision
   * or approval event whose request text is not known yet (its request recorded before a restart, or on the other
   * topic in a batch not prepared yet) is left for the write, which labels it as before: from every batch of the
   * write, the cache, or ClickHouse.
   */
  prepare(items: Iterable<IngestItem>): PreparedBatch {
    const fold: FoldedRow[] = [];
    const late: IngestItem[] = [];
    const dead: DeadLetter[] = [];
    // One pass, row by row: each event's row is encoded (or kept) before the next event is looked at.
    const rows = function* (self: BatchWriter): Generator<EventRow> {
      for (const item of items) {
        if (item.type === 'dead') {
          dead.push(item.letter);
          continue;
        }
        self.#remember(item.event);
        if (!self.#known(item.event)) {
          late.push(item);
          continue;
        }
        const row = toEventRow(item.event, item.at, self.#lookup);
        fold.push(foldInput(row));
        yield row;
      }
    };
    const encoder = this.#writer.encoded;
    const encoded = encoder === undefined ? [] : encoder.encode(rows(this), this.#maxRows);
    const kept = encoder === undefined ? [...rows(this)] : [];
    return { encoded, rows: kept, fold, late, dead, size: fold.length + late.length + dead.length };
  }

  async write(batches: readonly PreparedBatch[]): Promise<void> {
    const started = performance.now();
    const lateRows = await this.#lateRows(batches.flatMap((b) => b.late));
    const encoder = this.#writer.encoded;
    const encoded = batches.flatMap((b) => b.encoded);
    const rows = [...batches.flatMap((b) => b.rows), ...lateRows];
    if (encoder !== undefined) {
      const more = rows.length === 0 ? [] : encoder.encode(rows, this.#maxRows);
      await encoder.insert([...encoded, ...more], this.#maxRows);
    } else {
      await this.#writer.insertEvents(rows, this.#maxRows);
    }
    const dead = batches.flatMap((b) => b.dead);
    await this.#writer.insertDeadLetters(dead);
    const fold = [...batches.flatMap((b) => b.fold), ...lateRows.map(foldInput)];
    if (this.#writer.foldSessions) await this.#writer.foldSessions(fold);
    else {
      await this.#writer.refreshSessions(
        fold.map((r) => r.session_id).filter((id) => !id.startsWith(APPROVAL_STREAM_PREFIX)),
      );
    }
    this.#metrics.inserted.inc(fold.length);
    this.#metrics.batchRows.observe(fold.length + dead.length);
    this.#metrics.insertSeconds.observe((performance.now() - started) / 1000);
    this.#log.debug({ rows: fold.length, deadLetters: dead.length }, 'batch written');
  }

  /** Remembers the request texts an event states, for the decisions and approval events that follow it. */
  #remember(event: Event): void {
    const body = event.body;
    if (body.case === 'request') {
      this.#cache.set(requestKey(event.sessionId, body.value.requestId), body.value.text);
    } else if (body.case === 'approvalRequested' && body.value.requestText !== '') {
      this.#cache.set(approvalKey(body.value.approvalId), body.value.requestText);
    }
  }

  /** Whether the event's row can be built now: it needs no request text, or the text is known. */
  #known(event: Event): boolean {
    const body = event.body;
    const look = this.#lookup;
    switch (body.case) {
      case 'decision':
        return look.byRequest(event.sessionId, body.value.requestId) !== undefined;
      case 'approvalRequested':
        return (
          body.value.requestText !== '' || look.byRequest(event.sessionId, body.value.requestId) !== undefined
        );
      case 'approvalDecided':
        return (
          look.byRequest(event.sessionId, body.value.requestId) !== undefined ||
          look.byApproval(body.value.approvalId) !== undefined
        );
      case 'approvalReviewed':
        return look.byApproval(body.value.approvalId) !== undefined;
      default:
        return true;
    }
  }

  /**
   * The rows of the events left for the write, their request texts from the cache (which now holds every batch of
   * the write) or, for requests of gateway sessions recorded in an earlier write, ClickHouse.
   */
  async #lateRows(items: readonly IngestItem[]): Promise<EventRow[]> {
    if (items.length === 0) return [];
    const missing = new Map<string, { sessionId: string; requestId: number }>();
    for (const item of items) {
      if (item.type !== 'event') continue;
      const { event } = item;
      const body = event.body;
      switch (body.case) {
        case 'approvalRequested':
        case 'decision':
          this.#noteMissing(missing, event.sessionId, body.value.requestId);
          break;
        case 'approvalDecided':
          if (this.#cache.get(approvalKey(body.value.approvalId)) === undefined) {
            this.#noteMissing(missing, event.sessionId, body.value.requestId);
          }
          break;
        default:
          break;
      }
    }
    const looked =
      missing.size === 0
        ? new Map<string, string>()
        : await this.#writer.lookupStatements([...missing.values()]);
    for (const [key, statement] of looked) this.#cache.set(key, statement);
    const statements: StatementLookup = {
      byRequest: (sessionId, requestId) => {
        const key = requestKey(sessionId, requestId);
        return this.#cache.get(key) ?? looked.get(key);
      },
      byApproval: (approvalId) => this.#cache.get(approvalKey(approvalId)),
    };
    const rows: EventRow[] = [];
    for (const item of items)
      if (item.type === 'event') rows.push(toEventRow(item.event, item.at, statements));
    return rows;
  }

  /** Requests of gateway sessions not in the cache are looked up (approval streams have no request events). */
  #noteMissing(
    missing: Map<string, { sessionId: string; requestId: number }>,
    sessionId: string,
    requestId: number,
  ): void {
    if (sessionId.startsWith(APPROVAL_STREAM_PREFIX)) return;
    const key = requestKey(sessionId, requestId);
    if (this.#cache.get(key) === undefined) missing.set(key, { sessionId, requestId });
  }
}
