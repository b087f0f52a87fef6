import type { Logger } from '../../shared/logger.js';
import type { ClickHouse } from '../clickhouse/client.js';
import type { DeadLetter } from './event-writer.js';
import { EventWriter } from './event-writer.js';
import type { EventRow } from './event-row.js';
import type { EncodedEvents } from './event-writer.js';
import type { FoldedRow } from './session-fold.js';
import { dropExpiredPartitions } from './retention.js';
import type { DroppedPartition } from './retention.js';
import { SessionQueries } from './session-queries.js';
import type { ReplayStore } from './session-queries.js';

/** The write side of the recording store (what the batch writer calls); `EventWriter` on ClickHouse. */
export interface EventStoreWriter {
  insertEvents(rows: readonly EventRow[], maxRows: number): Promise<void>;
  insertDeadLetters(letters: readonly DeadLetter[]): Promise<void>;
  /** Recomputes the summary rows of these sessions from their de-duplicated events. */
  refreshSessions(sessionIds: readonly string[]): Promise<void>;
  /**
   * When present, used instead of `refreshSessions`: folds the rows just inserted into their sessions' summary
   * rows (each event once), without reading the sessions' events again.
   */
  foldSessions?(rows: readonly FoldedRow[]): Promise<void>;
  /** Forgets what `foldSessions` keeps between writes (called after a consumer-group rebalance). */
  forgetSessions?(): void;
  /**
   * When present, a partition batch's rows are encoded as soon as it arrives (`encode`, in chunks of at most
   * `maxRows` rows) and the write sends those bytes (`insert`, INSERTs of at most `maxRows` rows): the rows wait
   * for their write as bytes, not as objects the garbage collector has to move and scan.
   */
  readonly encoded?: {
    encode(rows: Iterable<EventRow>, maxRows: number): EncodedEvents[];
    insert(batches: readonly EncodedEvents[], maxRows: number): Promise<void>;
  };
  lookupStatements(keys: readonly { sessionId: string; requestId: number }[]): Promise<Map<string, string>>;
}

/**
 * Where recordings live: ClickHouse in a cluster (`clickHouseStore`), an embedded DuckDB file in the one-process
 * mode (`DuckDbStore`). Same tables and columns, same answers to the replay API.
 */
export interface RecordingStore {
  readonly kind: 'clickhouse' | 'duckdb';
  readonly writer: EventStoreWriter;
  readonly queries: ReplayStore;
  ping(): Promise<boolean>;
  /** Drops recordings older than `retentionDays` (whole days). */
  dropExpired(retentionDays: number, log: Logger): Promise<DroppedPartition[]>;
  close(): Promise<void>;
}

/** The ClickHouse store: data through `ch`, schema changes and retention through `ddl` (may be the same client). */
export function clickHouseStore(ch: ClickHouse, ddl: ClickHouse, database: string): RecordingStore {
  return {
    kind: 'clickhouse',
    writer: new EventWriter(ch),
    queries: new SessionQueries(ch),
    ping: () => ch.ping(),
    dropExpired: (days, log) => dropExpiredPartitions(ddl, database, days, log),
    close: async () => {
      await ch.close();
      if (ddl !== ch) await ddl.close();
    },
  };
}
