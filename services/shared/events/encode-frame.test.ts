import { randomBytes, randomInt } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  DecisionSchema,
  EventSchema,
  RequestSchema,
  ResponseSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from './codec.js';
import { encodeFrame } from './encode-frame.js';

const texts = ['', 'x', 'SELECT 1', 'é中😀', 'a'.repeat(200), '\u0000\uffff', 'lone \ud800 surrogate'];
const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)]!;

/** A batch frame with random envelope fields around `body`. */
function randomFrame(body: Event['body']): Event {
  return create(EventSchema, {
    eventId: pick(['', 'e', crypto.randomUUID()]),
    seq: BigInt(pick([0, 1, 127, 128, 300, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER])),
    tsMicros: BigInt(pick([0, 1, 1_714_564_800_000_000, 2 ** 52])),
    policyRevision: pick(texts),
    continued: pick([0, 1, 200, 2 ** 31]),
    body,
  });
}

const encodesLikeEncodeEvent = (frame: Event): boolean =>
  Buffer.from(encodeFrame(frame)).equals(Buffer.from(encodeEvent(frame)));

describe('encodeFrame', () => {
  it('writes a response frame byte for byte as encodeEvent does', () => {
    for (let i = 0; i < 2_000; i++) {
      const value = create(ResponseSchema, {
        requestId: pick([0, 1, 128, 2 ** 32 - 1]),
        frame: pick(texts),
        data: randomBytes(pick([0, 1, 100, 127, 128, 20_000])),
        rows: pick([0, 1, 1000]),
        text: pick(texts),
        code: pick(texts),
      });
      expect(encodesLikeEncodeEvent(randomFrame({ case: 'response', value }))).toBe(true);
    }
  });

  it('writes a request frame byte for byte as encodeEvent does', () => {
    for (let i = 0; i < 2_000; i++) {
      const value = create(RequestSchema, {
        requestId: pick([0, 1, 128, 2 ** 32 - 1]),
        kind: pick(['', 'sql', 'sql.execute', ...texts]),
        text: pick([...texts, 'x'.repeat(20_000)]),
        parsedJson: pick(texts),
      });
      expect(encodesLikeEncodeEvent(randomFrame({ case: 'request', value }))).toBe(true);
    }
  });

  it('leaves other events, and numbers beyond 2^53, to encodeEvent', () => {
    const decision = create(EventSchema, {
      eventId: 'e',
      seq: 1n,
      body: { case: 'decision', value: create(DecisionSchema, { requestId: 1, allow: true }) },
    });
    const withSession = create(EventSchema, {
      eventId: 'e',
      sessionId: 's',
      seq: 1n,
      body: { case: 'request', value: create(RequestSchema, { requestId: 1, text: 'select' }) },
    });
    const big = create(EventSchema, {
      eventId: 'e',
      seq: 2n ** 60n,
      tsMicros: -5n,
      body: { case: 'response', value: create(ResponseSchema, { requestId: 1 }) },
    });
    for (const e of [decision, withSession, big]) expect(encodesLikeEncodeEvent(e)).toBe(true);
  });
});
