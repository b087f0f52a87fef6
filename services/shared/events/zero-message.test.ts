import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  DecisionSchema,
  EventSchema,
  RequestSchema,
  ResponseSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { zeroMessage } from './zero-message.js';

describe('zeroMessage', () => {
  it('gives copies equal to create, each its own object', () => {
    const zero = zeroMessage(ResponseSchema);
    const a = { ...zero, requestId: 3, frame: 'result', data: Buffer.from('x') };
    expect(a).toEqual(create(ResponseSchema, { requestId: 3, frame: 'result', data: Buffer.from('x') }));
    expect(zero.requestId).toBe(0);
    const body = { case: 'request' as const, value: { ...zeroMessage(RequestSchema), text: 'select 1' } };
    const event = { ...zeroMessage(EventSchema), eventId: 'e', seq: 2n, body };
    expect(toBinary(EventSchema, event)).toEqual(toBinary(EventSchema, create(EventSchema, event)));
  });

  it('refuses messages with lists or maps (every copy would share them)', () => {
    expect(() => zeroMessage(DecisionSchema)).toThrow(/shared by every copy/);
  });
});
