import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { EventBatchSchema, EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import { encodeEvent } from '../../shared/events/codec.js';
import { encodeAsBatches } from '../../shared/events/event-batch.js';
import { decodeRecords } from './decode-records.js';

const record = (value: Uint8Array, offset: number) => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: Buffer.from('k'),
  value: Buffer.from(value),
  timestamp: '1714564800000',
});

describe('decodeRecords', () => {
  it('expands batches and reads single events, in record order, each event with its record position', () => {
    const a = postgresScenario({ sessionId: 'a' });
    const b = postgresScenario({ sessionId: 'b' });
    const batches = encodeAsBatches(a, 5);
    const items = decodeRecords([
      ...batches.map((v, i) => record(v, i)),
      ...b.map((e, i) => record(encodeEvent(e), 100 + i)),
    ]);
    expect(items.every((i) => i.type === 'event')).toBe(true);
    const events = items.flatMap((i) => (i.type === 'event' ? [i] : []));
    expect(events.map((i) => i.event.eventId)).toEqual([...a, ...b].map((e) => e.eventId));
    expect(events.map((i) => encodeEvent(i.event))).toEqual([...a, ...b].map((e) => encodeEvent(e)));
    expect([events[0]!.at.offset, events[1]!.at.offset, events[5]!.at.offset]).toEqual(['0', '1', '1']);
  });

  it('turns a forged batch into one dead letter, byte for byte, and records nothing of it', () => {
    const [first, second] = postgresScenario({ sessionId: 'a' });
    const frame = (e: typeof first) =>
      create(EventSchema, { eventId: e!.eventId, seq: e!.seq + 1n, body: e!.body });
    const gap = toBinary(
      EventSchema,
      create(EventSchema, {
        eventId: first!.eventId,
        sessionId: 'a',
        seq: first!.seq,
        body: {
          case: 'batch',
          value: create(EventBatchSchema, {
            events: [{ ...first!, sessionId: '' }, frame(second), frame(second)],
          }),
        },
      }),
    );
    const items = decodeRecords([record(gap, 7), record(Buffer.from([0xc2, 0x02, 0x05, 0x0a]), 8)]);
    expect(items.map((i) => i.type)).toEqual(['dead', 'dead']);
    const dead = items[0]!;
    if (dead.type !== 'dead') throw new Error('not dead');
    expect(dead.letter).toMatchObject({ offset: '7', errorCode: 'GH_ERR_EVENT_DECODE' });
    expect(Buffer.compare(dead.letter.value, Buffer.from(gap))).toBe(0);
    expect(dead.letter.error).toMatch(/refused event batch/);
  });
});
