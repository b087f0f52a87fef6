import type { Event } from '../../services/shared/events/codec.js';
import type { RecordedEvent } from '../../services/recorder/replay/recorded-event.js';
import {
  approvalKey,
  requestKey,
  toEventRow,
  toRecordedEvent,
} from '../../services/recorder/store/event-row.js';
import type { StatementLookup } from '../../services/recorder/store/event-row.js';

/** A lookup that knows no statements. */
export const NO_STATEMENTS: StatementLookup = { byRequest: () => undefined, byApproval: () => undefined };

/**
 * Test fixtures: what the replay API returns for these events once recorded (statements of decisions filled in
 * from earlier requests, as the recorder does). Pure.
 */
export function recordEvents(events: readonly Event[]): RecordedEvent[] {
  const known = new Map<string, string>();
  const statements: StatementLookup = {
    byRequest: (s, r) => known.get(requestKey(s, r)),
    byApproval: (id) => known.get(approvalKey(id)),
  };
  return events.map((e, i) => {
    const row = toEventRow(e, { topic: 't', partition: 0, offset: String(i) }, statements);
    if (row.kind === 'request') known.set(requestKey(row.session_id, row.request_id), row.statement);
    if (row.kind === 'approval_requested') known.set(approvalKey(row.approval_id), row.statement);
    return toRecordedEvent(row);
  });
}
