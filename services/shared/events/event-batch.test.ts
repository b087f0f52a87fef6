import { create, toBinary } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  ContinuationSchema,
  EventBatchSchema,
  EventSchema,
  ResponseSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import { decodeEvent, decodeRecord, encodeEvent } from './codec.js';
import { EventDecodeError } from './errors.js';
import { encodeFrameTo } from './encode-frame.js';
import { BatchBuffer, encodeAsBatches, encodeBatch, encodeShared, expandBatch } from './event-batch.js';
import type { EncodedFrame } from './event-batch.js';
import { SessionEvents } from './session-events.js';
import { splitEvent } from './split-event.js';
import { varintLength } from './varint.js';

/** A batch envelope written by hand (what a forger could send), from frames given as whole `Event`s. */
type EventInit = Omit<MessageInitShape<typeof EventSchema>, '$typeName'>;

function forged(envelope: EventInit, frames: EventInit[]): Uint8Array {
  return toBinary(
    EventSchema,
    create(EventSchema, {
      ...envelope,
      body: {
        case: 'batch',
        value: create(EventBatchSchema, { events: frames.map((f) => create(EventSchema, f)) }),
      },
    }),
  );
}

const response = (requestId: number) => ({
  case: 'response' as const,
  value: create(ResponseSchema, { requestId, frame: 'data_rows', data: Buffer.from('row'), rows: 1 }),
});

describe('event batches', () => {
  it('expand into exactly the events the session would have published one by one', () => {
    const events = postgresScenario({ rows: 250 });
    const records = encodeAsBatches(events, 4);
    expect(records.length).toBeGreaterThan(1);
    const back = records.flatMap((r) => decodeRecord(r));
    expect(back.map((e) => encodeEvent(e))).toEqual(events.map((e) => encodeEvent(e)));
    // The shared fields are stated once per record, not once per event.
    const single = events.reduce((n, e) => n + encodeEvent(e).length, 0);
    const batched = records.reduce((n, r) => n + r.length, 0);
    expect(batched).toBeLessThan(single * 0.85);
  });

  it('keeps continuations without identity and heads with it', () => {
    const s = new SessionEvents({
      sessionId: 's-c',
      nodeId: 'n',
      protocol: 'postgres',
      connection: { name: 'c', tags: {} },
    });
    s.setIdentity({ sub: 'u', email: 'u@x', groups: ['g'], agent: false, issuer: 'i', client_id: 'c' });
    const big = s.next({
      case: 'response',
      value: create(ResponseSchema, { requestId: 1, frame: 'data_rows', data: Buffer.alloc(5000, 1) }),
    });
    const split = splitEvent(big, 2048, s.continuationOverhead);
    const events = [
      split.head,
      ...split.parts.map((p) => s.nextContinuation({ case: 'continuation', value: p })),
    ];
    const back = encodeAsBatches(events).flatMap((r) => decodeRecord(r));
    expect(back.map((e) => encodeEvent(e))).toEqual(events.map((e) => encodeEvent(e)));
    expect(back[1]!.identity).toBeUndefined();
    expect(back[0]!.identity?.sub).toBe('u');
  });

  it('reads single-event records as before', () => {
    const [e] = postgresScenario();
    expect(decodeRecord(encodeEvent(e!)).map((x) => x.eventId)).toEqual([e!.eventId]);
  });

  it('is written with the frames copied once into an exactly sized buffer', () => {
    const s = new SessionEvents({
      sessionId: 's-1',
      nodeId: 'n',
      protocol: 'postgres',
      connection: { name: 'c', tags: {} },
    });
    const frames = [s.nextFrame(response(1)), s.nextFrame(response(1))].map((f) => ({
      eventId: f.eventId,
      seq: f.seq,
      tsMicros: f.tsMicros,
      bytes: encodeEvent(f),
    }));
    const bytes = encodeBatch(encodeShared(s.shared()), frames);
    const envelope = decodeEvent(bytes);
    expect(envelope.body.case).toBe('batch');
    expect(envelope.seq).toBe(1n);
    expect(expandBatch(envelope).map((e) => [e.sessionId, e.seq, e.connection?.name])).toEqual([
      ['s-1', 1n, 'c'],
      ['s-1', 2n, 'c'],
    ]);
  });

  describe('refuses a batch as a whole', () => {
    const base = { eventId: 'e1', sessionId: 's', seq: 5n, nodeId: 'n', tsMicros: 9n };
    const f1 = { eventId: 'e1', seq: 5n, tsMicros: 9n, body: response(1) };
    const cases: [string, Uint8Array, RegExp][] = [
      ['with a seq gap', forged(base, [f1, { eventId: 'e2', seq: 7n, body: response(1) }]), /seq 7, not 6/],
      [
        'with seqs out of order',
        forged(base, [
          { ...f1, seq: 6n },
          { ...f1, eventId: 'e2', seq: 5n },
        ]),
        /seq 6, not 5/,
      ],
      [
        'mixing sessions',
        forged(base, [f1, { eventId: 'e2', seq: 6n, sessionId: 'other', body: response(1) }]),
        /another session/,
      ],
      [
        'mixing nodes',
        forged(base, [f1, { eventId: 'e2', seq: 6n, nodeId: 'x', body: response(1) }]),
        /another node/,
      ],
      ['without frames', forged(base, []), /no frames/],
      ['with a frame without body', forged(base, [f1, { eventId: 'e2', seq: 6n }]), /no body/],
      ['with a frame without id', forged(base, [f1, { seq: 6n, body: response(1) }]), /no event id/],
      [
        'nesting a batch',
        forged(base, [
          f1,
          { eventId: 'e2', seq: 6n, body: { case: 'batch', value: create(EventBatchSchema) } },
        ]),
        /nested batch/,
      ],
      [
        'whose envelope does not state its first frame',
        forged({ ...base, eventId: 'x' }, [f1]),
        /first frame/,
      ],
    ];
    for (const [name, bytes, message] of cases) {
      it(name, () => {
        expect(() => decodeRecord(bytes)).toThrow(EventDecodeError);
        expect(() => decodeRecord(bytes)).toThrow(message);
      });
    }

    it('with corrupt frame bytes', () => {
      const good = encodeAsBatches(postgresScenario(), 3)[0]!;
      const bad = Buffer.from(good);
      bad[bad.length - 5] = 0xff;
      bad[bad.length - 4] = 0xff;
      expect(() => decodeRecord(bad)).toThrow(EventDecodeError);
    });
  });
});

describe('BatchBuffer', () => {
  it('writes the bytes encodeBatch writes, across chunks, declined, discarded and carried frames', () => {
    const s = new SessionEvents({
      sessionId: 's-b',
      nodeId: 'n',
      protocol: 'http',
      connection: { name: 'c', tags: {} },
    });
    s.setIdentity({ sub: 'u', email: 'u@x', groups: ['g'], agent: false, issuer: 'i', client_id: 'c' });
    const shared = encodeShared(s.shared());
    const texts = ['', 'é中😀', 'lone \ud800 surrogate', 'a'.repeat(300), '\u007f\u0080'];
    const sizes = [0, 1, 127, 128, 5_000, 70_000, 200_000, 900];
    const buffer = new BatchBuffer();
    let carried: EncodedFrame | undefined;
    for (let round = 0; round < 4; round++) {
      const frames: EncodedFrame[] = carried ? [carried] : [];
      for (let i = 0; i < 40; i++) {
        const text = texts[(i + round) % texts.length]!;
        const e =
          i % 6 === 5
            ? s.nextContinuationFrame({
                case: 'continuation',
                value: create(ContinuationSchema, {
                  headSeq: 1n,
                  field: 3,
                  fieldName: text,
                  data: Buffer.from(text),
                }),
              })
            : s.nextFrame(
                {
                  case: 'response',
                  value: create(ResponseSchema, {
                    requestId: i,
                    frame: text,
                    text,
                    data: Buffer.alloc(sizes[(i + round) % sizes.length]!, i),
                  }),
                },
                text,
              );
        const bytes = encodeEvent(e);
        buffer.maxFrame = i % 10 === 3 ? bytes.length - 1 : Number.MAX_SAFE_INTEGER;
        if (i % 10 === 3) {
          expect(encodeFrameTo(e, buffer)).toBe(false); // over maxFrame: declined, nothing open
          expect(() => buffer.commit(e)).toThrow(/no open frame/);
          continue;
        }
        if (i % 7 === 2) {
          expect(encodeFrameTo(s.nextFrame(response(9)), buffer)).toBe(true);
          buffer.discard();
        }
        expect(encodeFrameTo(e, buffer)).toBe(true);
        expect(buffer.openBytes).toBe(1 + varintLength(bytes.length) + bytes.length);
        buffer.commit(e);
        frames.push({ eventId: e.eventId, seq: e.seq, tsMicros: e.tsMicros, bytes });
      }
      const next = round % 2 === 0 ? s.nextFrame(response(round)) : undefined;
      if (next) expect(encodeFrameTo(next, buffer)).toBe(true);
      expect(buffer.bytes).toBe(
        frames.reduce((n, f) => n + 1 + varintLength(f.bytes.length) + f.bytes.length, 0),
      );
      expect(buffer.take(shared)!.equals(encodeBatch(shared, frames))).toBe(true);
      expect([buffer.count, buffer.bytes]).toEqual([0, 0]);
      carried = undefined;
      if (next) {
        buffer.commit(next); // the frame open at take time is the next batch's first
        carried = { eventId: next.eventId, seq: next.seq, tsMicros: next.tsMicros, bytes: encodeEvent(next) };
      }
    }
    expect(buffer.take(shared)).toBeUndefined();
  });
});
