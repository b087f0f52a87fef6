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
  return records.flatMap((r): IngestItem[] => {
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
  });
}
