import type { PublishRefusedError } from './errors.js';

/** Told when the broker refuses some of its records for good (see `PublishRefusedError`). */
export interface RecordOwner {
  refused(err: PublishRefusedError, records: readonly LogRecord[]): void;
}

/**
 * One record for the log. `key` decides the partition, so one session (or approval) stays in order — or
 * `partitionKey`, when the record has one and the publisher partitions by node (`PublisherOptions.partitionBy`): a
 * gateway session names its node there, so all of a node's sessions can share one partition (each still in order).
 * `owner` (the session) is told when the broker refuses the record; `seq` names it in logs and markers (`seq` …
 * `lastSeq` when it is a batch of several events).
 */
export type LogRecord = {
  topic: string;
  key: string;
  partitionKey?: string;
  value: Buffer;
  owner?: RecordOwner;
  seq?: bigint;
  lastSeq?: bigint;
};

/**
 * A producer of records that gathers events between produce requests (a session batching its frames): the publisher
 * takes its record just before building each produce request, and when it closes.
 */
export interface RecordSource {
  /** The gathered events as one record (removed from the source), or undefined when there are none. */
  takeRecord(): LogRecord | undefined;
}

/** How many events a record carries (`seq` … `lastSeq`; 1 for a single event). */
export function recordEvents(record: LogRecord): number {
  return record.seq !== undefined && record.lastSeq !== undefined
    ? Number(record.lastSeq - record.seq) + 1
    : 1;
}

/** The seqs of the events a record carries (`seq` … `lastSeq`), for refusal markers. */
export function recordSeqs(record: LogRecord): bigint[] {
  const first = record.seq ?? 0n;
  const out: bigint[] = [];
  for (let s = first; s <= (record.lastSeq ?? first); s++) out.push(s);
  return out;
}

/** What a record counts against the buffer and batch bounds (value, key and per-record overhead). */
export function recordBytes(record: LogRecord): number {
  return record.value.length + record.key.length + 64;
}
