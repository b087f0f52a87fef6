import { create, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DecisionSchema,
  EventBatchSchema,
  EventSchema,
  RequestSchema,
  ResponseSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { approvalStream, postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import { sshShellScenario } from '../../../dev/recorder-fixtures/ssh-scenario.js';
import type { Event } from '../../shared/events/codec.js';
import { encodeEvent, fromBinaryEvent } from '../../shared/events/codec.js';
import { encodeAsBatches } from '../../shared/events/event-batch.js';
import { FAST_DECODE } from './fast-decode-schema.js';
import { fastDecodeEvent } from './fast-decode.js';

/** The fast decoder gives fromBinary's message, or gives up; never another message, never a throw. */
function expectSameOrGiveUp(bytes: Uint8Array): Event | undefined {
  const fast = fastDecodeEvent(bytes);
  let slow: Event | undefined;
  try {
    slow = fromBinaryEvent(bytes);
  } catch {
    expect(fast).toBeUndefined();
    return undefined;
  }
  if (fast !== undefined) {
    expect(fast).toEqual(slow);
    expect(toBinary(EventSchema, fast)).toEqual(toBinary(EventSchema, slow));
  }
  return fast;
}

const handled = (e: Event) =>
  e.body.case === 'request' || e.body.case === 'decision' || e.body.case === 'response';

describe('fastDecodeEvent', () => {
  it('is on: its field lists match the schema (else update the specs in fast-decode.ts)', () => {
    expect(FAST_DECODE).toBe(true);
  });

  it('decodes the fixtures as fromBinary does, single events and batches, and gives up on other bodies', () => {
    const events = [
      ...postgresScenario({ sessionId: 'a', rows: 120 }),
      ...sshShellScenario({ sessionId: 'b' }).events,
      ...approvalStream('ap-1', 'a'),
    ];
    for (const e of events) {
      const fast = expectSameOrGiveUp(encodeEvent(e));
      expect([e.body.case, fast === undefined]).toEqual([e.body.case, !handled(e)]);
    }
    const pg = postgresScenario({ sessionId: 'c', rows: 30 });
    const inner = pg.filter(handled); // request, decision and response frames only
    expect(inner.length).toBeGreaterThan(10);
    for (const record of encodeAsBatches(inner, 7)) expect(expectSameOrGiveUp(record)).toBeDefined();
    for (const record of encodeAsBatches(pg, 4)) expectSameOrGiveUp(record);
  });

  it('equals fromBinary on arbitrary field values, text in any script included', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ maxLength: 200 }));
    const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
    const body = fc.oneof(
      fc.record({ requestId: u32, kind: text, text, parsedJson: text }).map((v) => ({
        case: 'request' as const,
        value: create(RequestSchema, v),
      })),
      fc
        .record({
          requestId: u32,
          allow: fc.boolean(),
          reasons: fc.array(text, { maxLength: 3 }),
          approvalGroups: fc.array(text, { maxLength: 2 }),
          audit: text,
          evalMicros: u32,
          memoHit: fc.boolean(),
          inputUnix: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          inputSessionJson: text,
        })
        .map((v) => ({ case: 'decision' as const, value: create(DecisionSchema, v) })),
      fc
        .record({
          requestId: u32,
          frame: text,
          data: fc.uint8Array({ maxLength: 64 }),
          rows: u32,
          text,
          code: text,
        })
        .map((v) => ({ case: 'response' as const, value: create(ResponseSchema, v) })),
    );
    const event = fc
      .record({
        eventId: text,
        sessionId: text,
        seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        nodeId: text,
        tsMicros: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        protocol: text,
        policyRevision: text,
        continued: u32,
        identity: fc.option(
          fc.record({
            sub: text,
            email: text,
            groups: fc.array(text, { maxLength: 3 }),
            agent: fc.boolean(),
          }),
          { nil: undefined },
        ),
        connection: fc.option(
          fc.record({ name: text, protocol: text, tags: fc.dictionary(text, text, { maxKeys: 3 }) }),
          { nil: undefined },
        ),
        body,
      })
      .map((v) => create(EventSchema, v));
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 4 }), fc.nat(), (events, cut) => {
        const single = encodeEvent(events[0]!);
        expect(expectSameOrGiveUp(single)).toBeDefined();
        const batch = toBinary(
          EventSchema,
          create(EventSchema, {
            ...events[0]!,
            body: { case: 'batch', value: create(EventBatchSchema, { events }) },
          }),
        );
        expect(expectSameOrGiveUp(batch)).toBeDefined();
        // Cut or damaged bytes: the same answer or a give-up, never a throw.
        expectSameOrGiveUp(batch.subarray(0, cut % (batch.length + 1)));
        const damaged = Uint8Array.from(batch);
        const at = cut % damaged.length;
        damaged[at] = damaged[at]! ^ 0xff;
        expectSameOrGiveUp(damaged);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('gives up on a field it does not know (fromBinary keeps it as an unknown field) and on invalid UTF-8 (fromBinary refuses it)', () => {
    const [, request] = postgresScenario({ sessionId: 'd' });
    const bytes = encodeEvent(request!);
    const unknownField = Uint8Array.from([...bytes, (15 << 3) | 0, 1]);
    expect(fastDecodeEvent(unknownField)).toBeUndefined();
    expect(fromBinaryEvent(unknownField).$unknown).toHaveLength(1);
    // Invalid UTF-8 in a string is decoded with U+FFFD, as fromBinary does.
    const text = create(EventSchema, {
      eventId: 'e',
      sessionId: 's',
      seq: 1n,
      body: { case: 'request', value: create(RequestSchema, { text: 'ab' }) },
    });
    const raw = encodeEvent(text);
    const at = Buffer.from(raw).indexOf('ab');
    const invalid = Uint8Array.from(raw);
    invalid[at] = 0xc3;
    expect(() => fromBinaryEvent(invalid)).toThrow();
    expect(fastDecodeEvent(invalid)).toBeUndefined();
  });

  it('reads long texts again by comparing bytes: same length, other text, never mixed up', () => {
    const texts = ['a'.repeat(150), `${'a'.repeat(149)}b`, `é${'a'.repeat(148)}`, 'a'.repeat(150)];
    for (const t of [...texts, ...texts]) {
      const e = create(EventSchema, {
        eventId: 'e',
        sessionId: 's',
        seq: 1n,
        body: { case: 'request', value: create(RequestSchema, { parsedJson: t, text: t }) },
      });
      const fast = expectSameOrGiveUp(encodeEvent(e));
      expect(fast?.body.value).toMatchObject({ parsedJson: t, text: t });
    }
  });
});
