import type { Logger } from '../../shared/logger.js';
import type { RecorderMetrics } from '../metrics.js';
import { APPROVAL_STREAM_PREFIX, approvalKey, requestKey, toEventRow } from '../store/event-row.js';
import type { EventRow, StatementLookup } from '../store/event-row.js';
import type { DeadLetter } from '../store/event-writer.js';
import type { EventStoreWriter } from '../store/recording-store.js';
import type { IngestItem } from './decode-records.js';
import type { StatementCache } from './statement-cache.js';

/**
 * Writes one batch: event rows, dead letters, then the summaries of the sessions the batch touched. Safe to run
 * again with the same items (a retry, or a redelivery after a crash): rows collapse on their keys and summaries
 * are recomputed, never incremented.
 */
export class BatchWriter {
  readonly #writer: EventStoreWriter;
  readonly #cache: StatementCache;
  readonly #maxRows: number;
  readonly #metrics: RecorderMetrics;
  readonly #log: Logger;

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
  }

  async write(items: readonly IngestItem[]): Promise<void> {
    const started = performance.now();
    const rows = await this.#toRows(items);
    const dead: DeadLetter[] = [];
    for (const item of items) if (item.type === 'dead') dead.push(item.letter);
    await this.#writer.insertEvents(rows, this.#maxRows);
    await this.#writer.insertDeadLetters(dead);
    if (this.#writer.foldSessions) await this.#writer.foldSessions(rows);
    else {
      await this.#writer.refreshSessions(
        rows.map((r) => r.session_id).filter((id) => !id.startsWith(APPROVAL_STREAM_PREFIX)),
      );
    }
    this.#metrics.inserted.inc(rows.length);
    this.#metrics.batchRows.observe(rows.length + dead.length);
    this.#metrics.insertSeconds.observe((performance.now() - started) / 1000);
    this.#log.debug({ rows: rows.length, deadLetters: dead.length }, 'batch written');
  }

  /**
   * Builds the rows, filling in the statement of decisions and approval outcomes from this batch, the cache, or
   * (for requests of gateway sessions recorded in an earlier batch) ClickHouse.
   */
  async #toRows(items: readonly IngestItem[]): Promise<EventRow[]> {
    const missing = new Map<string, { sessionId: string; requestId: number }>();
    for (const item of items) {
      if (item.type !== 'event') continue;
      const { event } = item;
      const body = event.body;
      switch (body.case) {
        case 'request':
          this.#cache.set(requestKey(event.sessionId, body.value.requestId), body.value.text);
          break;
        case 'approvalRequested':
          if (body.value.requestText !== '') {
            this.#cache.set(approvalKey(body.value.approvalId), body.value.requestText);
            break;
          }
          this.#noteMissing(missing, event.sessionId, body.value.requestId);
          break;
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
