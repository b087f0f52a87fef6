import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRecord } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { joinEvent } from '../../services/shared/events/split-event.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import { testKafka, testLogger } from './kafka.js';

/** A topic's records, decoded, as one reader sees them (partition order; one session's records are in order). */
export type TopicRead = { events: Event[]; sizes: number[] };

/** Reads `topic` from the start until `done(events)` holds (or the timeout), then a moment longer. */
export async function readTopic(
  topic: string,
  done: (events: readonly Event[]) => boolean,
  timeoutMs = 30_000,
): Promise<TopicRead> {
  const read: TopicRead = { events: [], sizes: [] };
  const consumer = new EventConsumer(testKafka('test-audit-reader'), testLogger, {
    groupId: `audit-reader-${Date.now()}-${Math.random()}`,
    topics: [topic],
  });
  void consumer.start((records) => {
    for (const r of records) {
      read.sizes.push(r.value.length);
      read.events.push(...decodeRecord(r.value));
    }
    return Promise.resolve();
  });
  const deadline = Date.now() + timeoutMs;
  while (!done(read.events) && Date.now() < deadline) await sleep(200);
  await sleep(500);
  await consumer.stop();
  return read;
}

/** One session's events in seq order (duplicates from producer retries removed by event id). */
export function sessionStream(events: readonly Event[], sessionId: string): Event[] {
  const seen = new Set<string>();
  return events
    .filter((e) => e.sessionId === sessionId && !seen.has(e.eventId) && (seen.add(e.eventId), true))
    .sort((a, b) => Number(a.seq - b.seq));
}

/** Reassembles heads and their continuation frames (a stream in seq order) into whole events. */
export function reassemble(stream: readonly Event[]): Event[] {
  const out: Event[] = [];
  for (let i = 0; i < stream.length; i++) {
    const head = stream[i]!;
    if (head.continued === 0) {
      out.push(head);
      continue;
    }
    const parts = stream.slice(i + 1, i + 1 + head.continued).map((e) => {
      if (e.body.case !== 'continuation' || e.body.value.headSeq !== head.seq) {
        throw new Error(`seq ${e.seq} is not a continuation of ${head.seq}`);
      }
      return e.body.value;
    });
    if (parts.length !== head.continued) throw new Error(`head ${head.seq} lacks continuations`);
    out.push(joinEvent(head, parts));
    i += head.continued;
  }
  return out;
}

/** Session ids of the streams whose `session_closed` is in `events`. */
export function closedSessions(events: readonly Event[]): Set<string> {
  return new Set(events.filter((e) => e.body.case === 'sessionClosed').map((e) => e.sessionId));
}
