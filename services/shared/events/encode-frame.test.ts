import { randomBytes, randomInt } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  DecisionSchema,
  EventSchema,
  RequestSchema,
  ResponseSchema,
  SessionClosedSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from './codec.js';
import { encodeFrame } from './encode-frame.js';

const texts = [
  '',
  'x',
  'SELECT 1',
  'é中😀',
  'a'.repeat(200),
  '\u0000\uffff',
  'lone \ud800 surrogate',
  'b'.repeat(128),
  'é'.repeat(64),
  '\u007f\u0080',
];
const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)]!;

describe('encodeFrame', () => {
  it('writes a response frame byte for byte as encodeEvent does', () => {
    for (let i = 0; i < 2_000; i++) {
      const frame = create(EventSchema, {
        eventId: pick(['', 'e', crypto.randomUUID()]),
        seq: BigInt(pick([0, 1, 127, 128, 300, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER])),
        tsMicros: BigInt(pick([0, 1, 1_714_564_800_000_000, 2 ** 52])),
        policyRevision: pick(texts),
        continued: pick([0, 1, 200, 2 ** 31]),
        body: {
          case: 'response',
          value: create(ResponseSchema, {
            requestId: pick([0, 1, 128, 2 ** 32 - 1]),
            frame: pick(texts),
            data: randomBytes(pick([0, 1, 100, 127, 128, 20_000])),
            rows: pick([0, 1, 1000]),
            text: pick(texts),
            code: pick(texts),
          }),
        },
      });
      expect(Buffer.from(encodeFrame(frame)).equals(Buffer.from(encodeEvent(frame)))).toBe(true);
    }
  });

  it('writes request and decision frames byte for byte as encodeEvent does', () => {
    const list = () => Array.from({ length: pick([0, 1, 3]) }, () => pick(texts));
    for (let i = 0; i < 2_000; i++) {
      const envelope = {
        eventId: pick(['', 'e', crypto.randomUUID()]),
        seq: BigInt(pick([0, 1, 128, 2 ** 40])),
        tsMicros: BigInt(pick([0, 1_714_564_800_000_000])),
        policyRevision: pick(texts),
        continued: pick([0, 1]),
      };
      const request = create(EventSchema, {
        ...envelope,
        body: {
          case: 'request',
          value: create(RequestSchema, {
            requestId: pick([0, 1, 2 ** 32 - 1]),
            kind: pick(texts),
            text: pick(texts),
            parsedJson: pick(texts),
          }),
        },
      });
      const decision = create(EventSchema, {
        ...envelope,
        body: {
          case: 'decision',
          value: create(DecisionSchema, {
            requestId: pick([0, 7, 2 ** 32 - 1]),
            allow: pick([true, false]),
            reasons: list(),
            approvalRequired: pick([true, false]),
            approvalGroups: list(),
            approvalsNeeded: pick([0, 2]),
            maskColumns: list(),
            maskDetectors: list(),
            audit: pick(texts),
            evalMicros: pick([0, 1, 300, 2 ** 31]),
            policyError: pick([true, false]),
            decisionJson: pick(texts),
            grantApprovalId: pick(texts),
            argumentsDigest: pick(texts),
            toolChanged: pick([true, false]),
            memoHit: pick([true, false]),
            inputUnix: BigInt(pick([0, 1, 1_714_564_800])),
            inputSessionJson: pick(texts),
            inputGrantsJson: pick(texts),
          }),
        },
      });
      for (const e of [request, decision])
        expect(Buffer.from(encodeFrame(e)).equals(Buffer.from(encodeEvent(e)))).toBe(true);
    }
  });

  it('leaves other events, and numbers beyond 2^53, to encodeEvent', () => {
    const request = create(EventSchema, {
      eventId: 'e',
      seq: 1n,
      body: { case: 'sessionClosed', value: create(SessionClosedSchema, { reason: 'x' }) },
    });
    const negative = create(EventSchema, {
      eventId: 'e',
      seq: 1n,
      body: { case: 'decision', value: create(DecisionSchema, { requestId: 1, inputUnix: -1n }) },
    });
    const big = create(EventSchema, {
      eventId: 'e',
      seq: 2n ** 60n,
      tsMicros: -5n,
      body: { case: 'response', value: create(ResponseSchema, { requestId: 1 }) },
    });
    for (const e of [request, negative, big])
      expect(Buffer.from(encodeFrame(e)).equals(Buffer.from(encodeEvent(e)))).toBe(true);
  });
});
