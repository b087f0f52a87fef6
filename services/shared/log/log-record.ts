import type { PublishRefusedError } from './errors.js';

/** Told when the broker refuses some of its records for good (see `PublishRefusedError`). */
export interface RecordOwner {
  refused(err: PublishRefusedError, records: readonly LogRecord[]): void;
}

/**
 * One record for the log. `key` decides the partition, so one session (or approval) stays in order. `owner` (the
 * session) is told when the broker refuses the record; `seq` names it in logs and markers.
 */
export type LogRecord = { topic: string; key: string; value: Buffer; owner?: RecordOwner; seq?: bigint };

/** What a record counts against the buffer and batch bounds (value, key and per-record overhead). */
export function recordBytes(record: LogRecord): number {
  return record.value.length + record.key.length + 64;
}
