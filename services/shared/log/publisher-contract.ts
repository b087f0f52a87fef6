import type { LogRecord, RecordSource } from './log-record.js';

/**
 * Where audit events go. Implemented on Kafka (`KafkaPublisher`, publisher.ts) and on the embedded
 * event log of `npm start` (`embedded/`).
 */
export interface EventPublisher {
  /** Enqueue for the next batch and return at once. Throws when the publisher fails closed. */
  publishBatched(record: LogRecord): void;
  /** Enqueue, flush without lingering, and resolve once every broker in the ISR has the record (acks=all). */
  publishDurable(record: LogRecord): Promise<void>;
  /**
   * Throws the error a publish of `bytes` more (in `events` events, default 1) would throw now, without enqueuing
   * (lets callers refuse early).
   */
  assertAccepting(bytes?: number, events?: number): void;
  /**
   * Optional: take `source`'s record just before the next produce request (after the linger) and when closing. A
   * source calls it when it starts gathering and checks `assertAccepting` for what it gathers; publishers without it
   * get every record at once.
   */
  defer?(source: RecordSource): void;
  stats(): PublisherStats;
  close(timeoutMs?: number): Promise<{ unflushed: number }>;
}

export type PublisherStats = {
  bufferedEvents: number;
  bufferedBytes: number;
  sentEvents: number;
  sentBatches: number;
  failedSends: number;
  /** Records the broker refused for good (their sessions were failed). */
  refusedRecords: number;
  unavailableForMs: number;
  lastBatchLatencyMs: number;
};

export type PublisherOptions = {
  /** Most events buffered (not yet acknowledged) before publishing fails closed. */
  maxBufferedEvents: number;
  /** Most bytes buffered before publishing fails closed. */
  maxBufferedBytes: number;
  /**
   * How long a batch may wait for more events (batched publish only; durable publish does not linger, and a buffer
   * holding a produce request's worth — `maxBatchEvents` or `maxBatchBytes` — goes at once): the loss window
   * of read traffic's audit if the node dies, against produce rounds. Broker CPU follows rounds and bytes: under
   * `bench:pgbench` (4 clients, one run, same code) 25 ms instead of 5 ms halved the rounds and cut the brokers' CPU
   * per transaction from 108 to 31 µs, the recorder's from 93 to 73 µs and the gateway's from 292 to 261 µs.
   */
  lingerMs: number;
  /**
   * How produce requests are compressed: `lz4` (default) — a partition's records of one produce request of at
   * least `COMPRESS_MIN_BYTES` as one LZ4 frame (Kafka's own format, lz4-codec.ts); smaller ones (a lone durable
   * decision) go uncompressed, where LZ4 saves nothing and costs the broker a decompression, and so do requests whose
   * first 16 KiB do not shrink by an eighth (dense bulk output: `lz4Pays`). `none`: never. The
   * brokers store, replicate and serve the compressed batch, so their CPU per byte of audit falls with it: an HTTP
   * exchange's four frames (1.6 KB) cost the three brokers 50 µs uncompressed and 26 µs as LZ4 (`bench:http`, same
   * build and run order). Every consumer must be able to read LZ4 (Gatehouse's services can since the codec came):
   * set `none` while older consumers still read the topics.
   */
  compression: 'lz4' | 'none';
  /** Most events in one produce request. */
  maxBatchEvents: number;
  /** Most bytes in one produce request; kept under the topics' `max.message.bytes` (see kafka config). */
  maxBatchBytes: number;
  /**
   * Largest encoded event (one Kafka record). Gateway sessions split larger events into continuation frames; the
   * publisher refuses any record above it (`PublishRefusedError`, reason EVENT_TOO_LARGE).
   */
  maxEventBytes: number;
  /** Refuse new work once Kafka has been unreachable this long while events are waiting. */
  failClosedAfterMs: number;
  /** How long `publishDurable` waits for the acknowledgement. */
  durableTimeoutMs: number;
  /**
   * How gateway sessions spread over the partitions. `node`: by the record's `partitionKey` (a session's node; records
   * without one: their key) — a node's sessions share one partition, so each produce round and each replica fetch
   * touch one partition per node, not one per session (about 2.5× less broker CPU per round, measured). `session`:
   * always by the key (one node's sessions spread over all partitions: more recorder parallelism when there are
   * fewer nodes than partitions). Per-session order holds either way.
   */
  partitionBy: 'node' | 'session';
};

/** A partition's records of one produce request below this many bytes go uncompressed (see `compression`). */
export const COMPRESS_MIN_BYTES = 1024;

export const DEFAULT_PUBLISHER_OPTIONS: Readonly<PublisherOptions> = Object.freeze({
  maxBufferedEvents: 100_000,
  maxBufferedBytes: 64 * 1024 * 1024,
  lingerMs: 25,
  compression: 'lz4',
  maxBatchEvents: 5_000,
  maxBatchBytes: 900 * 1024,
  maxEventBytes: 512 * 1024,
  failClosedAfterMs: 10_000,
  durableTimeoutMs: 10_000,
  partitionBy: 'node',
});
