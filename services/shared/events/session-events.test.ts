import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { EventSchema, ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from './codec.js';
import { SessionEvents } from './session-events.js';

describe('SessionEvents.nextFrame', () => {
  it('is the message create(EventSchema) builds from its fields, with the same keys and bytes', () => {
    let now = 1_714_564_800_000_000n;
    const s = new SessionEvents({
      sessionId: 's',
      nodeId: 'n',
      protocol: 'http',
      connection: { name: 'c', tags: {} },
      now: () => now++,
    });
    const body = { case: 'response', value: create(ResponseSchema, { requestId: 1, text: 'é' }) } as const;
    for (const revision of ['', 'rev-1']) {
      const frame = s.nextFrame(body, revision);
      const expected = create(EventSchema, {
        eventId: frame.eventId,
        seq: frame.seq,
        tsMicros: frame.tsMicros,
        policyRevision: revision,
        body,
      });
      expect(frame).toStrictEqual(expected);
      expect(Object.keys(frame)).toEqual(Object.keys(expected));
      expect(encodeEvent(frame)).toEqual(encodeEvent(expected));
    }
    expect(s.lastSeq).toBe(2n);
  });
});
