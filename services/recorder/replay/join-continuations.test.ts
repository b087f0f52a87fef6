import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { RequestSchema, ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../shared/events/codec.js';
import { SessionEvents } from '../../shared/events/session-events.js';
import type { EventBody } from '../../shared/events/session-events.js';
import { splitEvent } from '../../shared/events/split-event.js';
import { recordEvents } from '../../../dev/recorder-fixtures/recorded.js';
import { joinContinuations } from './join-continuations.js';
import { renderTranscript } from './transcript.js';

const MAX = 16 * 1024;

/** Events as SessionAudit publishes them: large ones as a head plus continuations. */
function publish(bodies: readonly EventBody[]): { whole: Event[]; frames: Event[] } {
  const s = new SessionEvents({
    sessionId: 's-1',
    nodeId: 'n',
    protocol: 'postgres',
    connection: { name: 'demo-pg', tags: {} },
  });
  const whole: Event[] = [];
  const frames: Event[] = [];
  for (const body of bodies) {
    const e = s.next(body);
    whole.push(e);
    const { head, parts } = splitEvent(e, MAX, s.continuationOverhead);
    frames.push(
      parts.length === 0 ? e : head,
      ...parts.map((p) => s.nextContinuation({ case: 'continuation', value: p })),
    );
  }
  return { whole, frames };
}

describe('joinContinuations', () => {
  const text = `SELECT '${'ü'.repeat(40_000)}'`;
  const data = Buffer.alloc(100_000, 0x44);
  const { whole, frames } = publish([
    { case: 'request', value: create(RequestSchema, { requestId: 1, kind: 'sql', text, parsedJson: '{}' }) },
    { case: 'response', value: create(ResponseSchema, { requestId: 1, frame: 'result', data, rows: 1 }) },
  ]);

  it('rebuilds the recorded rows of the whole events from the recorded frames', () => {
    const recorded = recordEvents(frames);
    expect(recorded.filter((e) => e.kind === 'continuation').length).toBeGreaterThan(5);
    expect(recorded.every((e) => e.payload.length <= MAX * 2)).toBe(true);
    const joined = joinContinuations(recorded);
    const expected = recordEvents(whole);
    expect(joined.map((e) => e.seq)).toEqual([1, whole[1]!.seq].map(Number));
    expect(joined[0]!.statement).toBe(text);
    expect((joined[0]!.event as { request: { text: string } }).request.text).toBe(text);
    expect(Buffer.from(joined[1]!.payload, 'base64').equals(data)).toBe(true);
    expect(joined[1]!.payload).toBe(expected[1]!.payload);
  });

  it('keeps a continuation whose head is missing', () => {
    const recorded = recordEvents(frames).slice(1);
    const joined = joinContinuations(recorded);
    expect(joined[0]!.kind).toBe('continuation');
  });

  it('lets the transcript show the full statement', () => {
    const out = renderTranscript(recordEvents(frames));
    expect(out).toContain(text.slice(-50));
    expect(out).not.toContain('continuation event');
  });
});
