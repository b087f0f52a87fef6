import type { Logger } from '../logger.js';
import type { BatchHandler, EventConsumerOptions } from './consumer.js';
import type { TailRecord } from './log-tail.js';
import type { EventPublisher, PublisherOptions } from './publisher.js';
import type { TopicSpec } from './topics.js';

/** A publisher that a service starts and checks for readiness. */
export interface LogPublisher extends EventPublisher {
  /** Starts sending (connecting happens in the background). */
  start(): void;
  /** Whether the log is reachable now (readiness). */
  readonly connected: boolean;
}

/** What a consumer reports besides records (metrics, readiness, fatal errors). */
export type ConsumerListener = {
  /** Joined its group (may repeat after a rebalance). */
  joined?: () => void;
  /** A batch was handled; `lag` records remain behind the end of that partition. */
  batchDone?: (topic: string, partition: number, lag: number) => void;
  /** It crashed; `restarting` false means for good. */
  crashed?: (err: Error, restarting: boolean) => void;
};

/** A consumer-group member with at-least-once processing (see `EventConsumer` for the contract). */
export interface LogConsumer {
  listen(listener: ConsumerListener): void;
  /** Resolves once consuming runs (records reach `handler` from then on). */
  start(handler: BatchHandler): Promise<void>;
  /** Finishes the in-flight batch and its commit, then leaves. */
  stop(): Promise<void>;
}

/** Reads one topic from its beginning on every start, committing nothing (see `LogTail`). */
export interface LogReader {
  readonly caughtUp: Promise<void>;
  readonly isCaughtUp: boolean;
  /** Milliseconds since the log was last read successfully (Infinity before the first read). */
  readonly sinceLastFetchMs: number;
  /** Records behind the end of the log. */
  readonly lag: number;
  start(onRecord: (r: TailRecord) => void): Promise<void>;
  waitCaughtUp(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export type LogReaderOptions = {
  log: Logger;
  topic: string;
  /** Names this reader (Kafka: the prefix of its private consumer group). */
  groupIdPrefix: string;
  maxWaitTimeMs?: number;
};

/**
 * The event log every service reads and writes through: Kafka in a cluster (`KafkaEventLog`), a local durable
 * append-only log in one process (`EmbeddedEventLog`, for `npm start`). Records are bytes with a key and a topic;
 * what they mean is the services' business.
 */
export interface EventLog {
  /** Human-readable kind for logs and readiness details. */
  readonly kind: 'kafka' | 'embedded';
  /** Creates the topics that are missing; checks the rest. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  createPublisher(log: Logger, opts?: Partial<PublisherOptions>): LogPublisher;
  createConsumer(log: Logger, opts: EventConsumerOptions): LogConsumer;
  createReader(opts: LogReaderOptions): LogReader;
}

/** Resolves true once `done` resolved, false after `timeoutMs` (a reader's `waitCaughtUp`). */
export async function resolvesWithin(done: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const result = await Promise.race([done.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}
