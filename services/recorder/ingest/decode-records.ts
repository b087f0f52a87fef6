import { decodeRecord } from '../../shared/events/codec.js';
import type { Event } from '../../shared/events/codec.js';
import type { ConsumedRecord } from '../../shared/log/consumer.js';
import type { KafkaPosition } from '../store/event-row.js';
import type { DeadLetter } from '../store/event-writer.js';
import { decodeEventBytes } from './fast-decode.js';

/** One consumed record after decoding: an event to record, or a record to keep as a dead letter. */
export type IngestItem =
  { type: 'event'; event: Event; at: KafkaPosition } | { type: 'dead'; letter: DeadLetter };

/**
 * Decodes records — single events and batches, which expand into their events — in order; a corrupt record or a
 * refused batch becomes one dead letter (never skipped, never thrown, never half recorded). Pure.
 */
export function decodeRecords(records: readonly ConsumedRecord[]): IngestItem[] {
  return records.flatMap(decodeOne);
}

/**
 * `decodeRecords` one record at a time, as the caller asks for the items: a partition batch's events need not all
 * be alive at once (each record's become garbage once its rows are encoded, before the next is decoded).
 */
export function* decodeEach(records: readonly ConsumedRecord[]): Generator<IngestItem> {
  for (const r of records) yield* decodeOne(r);
}

function decodeOne(r: ConsumedRecord): IngestItem[] {
  {
    const at = { topic: r.topic, partition: r.partition, offset: r.offset };
    try {
      return decodeRecord(r.value, decodeEventBytes).map((event) => ({ type: 'event', event, at }));
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      const dead: IngestItem = {
        type: 'dead',
        letter: {
          ...at,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          errorCode: typeof e.code === 'string' ? e.code : 'GH_ERR_UNKNOWN',
          error: typeof e.message === 'string' ? e.message.slice(0, 1000) : 'decode failed',
        },
      };
      return [dead];
    }
  }
}
