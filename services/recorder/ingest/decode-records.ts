import { decodeEvent } from '../../shared/events/codec.js';
import type { Event } from '../../shared/events/codec.js';
import type { ConsumedRecord } from '../../shared/log/consumer.js';
import type { KafkaPosition } from '../store/event-row.js';
import type { DeadLetter } from '../store/event-writer.js';

/** One consumed record after decoding: an event to record, or a record to keep as a dead letter. */
export type IngestItem =
  { type: 'event'; event: Event; at: KafkaPosition } | { type: 'dead'; letter: DeadLetter };

/** Decodes records; a corrupt one becomes a dead letter (never skipped, never thrown). Pure. */
export function decodeRecords(records: readonly ConsumedRecord[]): IngestItem[] {
  return records.map((r) => {
    const at = { topic: r.topic, partition: r.partition, offset: r.offset };
    try {
      return { type: 'event', event: decodeEvent(r.value), at };
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      return {
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
    }
  });
}
