import { logError } from '../log-error.js';
import type { Logger } from '../logger.js';
import { PublishRefusedError } from './errors.js';
import type { LogRecord, RecordOwner } from './log-record.js';

/**
 * Broker errors that refuse particular records for good. Retrying them cannot help, and they say nothing about the
 * other records of a batch: the publisher isolates the records concerned and fails only the sessions that made
 * them. Everything else (connection loss, leader moves, timeouts) is an outage: the batch is kept and retried.
 */
const RECORD_REFUSALS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'CORRUPT_MESSAGE',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);

/** Refusals that hold for every record of a topic: splitting the batch would only repeat them. */
const TOPIC_REFUSALS = new Set(['TOPIC_AUTHORIZATION_FAILED', 'POLICY_VIOLATION', 'INVALID_TOPIC_EXCEPTION']);

type ErrorLike = { type?: unknown; cause?: unknown };

/**
 * The broker's error type when `err` (or an error in its `cause` chain, as kafkajs wraps them) refuses records for
 * good; undefined for an outage. (kafkajs marks CORRUPT_MESSAGE retriable and retries it a few times first; when it
 * still comes back, the record itself is at fault.)
 */
export function refusalReason(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur !== null && typeof cur === 'object'; depth++) {
    const type = (cur as ErrorLike).type;
    if (typeof type === 'string' && (RECORD_REFUSALS.has(type) || TOPIC_REFUSALS.has(type))) return type;
    cur = (cur as ErrorLike).cause;
  }
  return undefined;
}

export type Refusal<T> = { item: T; reason: string; error: unknown };

/**
 * After `items` were refused as a whole with `error`, finds the records at fault: sends contiguous halves one after
 * the other (so records of one key stay in order) until each refused record stands alone. Topic-wide refusals refuse
 * every item at once. `send` marks what it delivered; an outage during isolation is thrown (the caller retries what
 * is not yet delivered). Cost: O(k log n) extra produce requests for k bad records among n.
 */
export async function isolateRefused<T>(
  items: readonly T[],
  error: unknown,
  send: (items: readonly T[]) => Promise<void>,
): Promise<Refusal<T>[]> {
  const refused: Refusal<T>[] = [];
  const split = async (part: readonly T[], err: unknown): Promise<void> => {
    const reason = refusalReason(err);
    if (reason === undefined) throw err;
    if (part.length === 1 || TOPIC_REFUSALS.has(reason)) {
      for (const item of part) refused.push({ item, reason, error: err });
      return;
    }
    const mid = part.length >> 1;
    for (const half of [part.slice(0, mid), part.slice(mid)]) {
      try {
        await send(half);
      } catch (e) {
        await split(half, e);
      }
    }
  };
  await split(items, error);
  return refused;
}

/** A queued record as the publisher tracks it (only what refusal handling touches). */
export type RefusableItem = { record: LogRecord; done?: boolean; refused?: PublishRefusedError };

/**
 * Marks refused records done (with their error, for durable waiters), logs each, and tells each owner (session)
 * once about its records. Returns how many were refused.
 */
export function reportRefusals(refused: readonly Refusal<RefusableItem>[], log: Logger): number {
  const byOwner = new Map<RecordOwner | undefined, { err: PublishRefusedError; records: LogRecord[] }>();
  for (const { item, reason, error } of refused) {
    const { record } = item;
    const err = new PublishRefusedError(
      reason,
      `Kafka refused an audit record of ${record.value.length} bytes (${reason})`,
      { cause: error },
    );
    item.done = true;
    item.refused = err;
    log.error(
      {
        topic: record.topic,
        session: record.key,
        seq: record.seq?.toString(),
        bytes: record.value.length,
        reason,
      },
      'Kafka refused an audit record; failing only the session that produced it',
    );
    const entry = byOwner.get(record.owner) ?? { err, records: [] };
    entry.records.push(record);
    byOwner.set(record.owner, entry);
  }
  for (const [owner, { err, records }] of byOwner) {
    try {
      owner?.refused(err, records);
    } catch (e) {
      logError(log, e, 'record owner failed on a refusal');
    }
  }
  return refused.length;
}
