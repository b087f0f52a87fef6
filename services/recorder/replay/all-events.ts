import type { EventCursor, ReplayStore } from '../store/session-queries.js';
import type { RecordedEvent } from './recorded-event.js';

/** Largest page the store is asked for. */
export const MAX_EVENT_PAGE = 10_000;

/** Every event of a session in seq order, page by page, at most `max`. */
export async function allEvents(
  queries: ReplayStore,
  sessionId: string,
  max: number,
): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let after: EventCursor | undefined;
  while (out.length < max) {
    const want = Math.min(MAX_EVENT_PAGE, max - out.length);
    const page = await queries.sessionEvents(sessionId, after, want);
    out.push(...page);
    const last = page.at(-1);
    if (last === undefined || page.length < want) break;
    after = { seq: BigInt(last.seq), eventId: last.eventId };
  }
  return out;
}
