import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  ApprovalDecidedSchema,
  ApprovalRequestedSchema,
  EventSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from '../../shared/events/codec.js';
import { relayVerdict } from './request-relay.js';

function event(body: Event['body']): Buffer {
  return Buffer.from(
    encodeEvent(
      create(EventSchema, {
        eventId: 'e1',
        sessionId: 'approval:a1',
        seq: 1n,
        tsMicros: 1n,
        nodeId: 'gw',
        body,
      }),
    ),
  );
}

const request = (approvalId: string) =>
  event({
    case: 'approvalRequested',
    value: create(ApprovalRequestedSchema, { approvalId, requestText: 'DROP' }),
  });

describe('relayVerdict', () => {
  it('relays a request keyed by its approval id', () => {
    expect(relayVerdict({ key: Buffer.from('a1'), value: request('a1') })).toEqual({ id: 'a1' });
  });

  it('drops a decision, whoever wrote it (a gateway forging an approval)', () => {
    const decided = event({
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, { approvalId: 'a1', outcome: 'approved' }),
    });
    expect(relayVerdict({ key: Buffer.from('a1'), value: decided })).toEqual({
      dropped: 'not a request or a gateway notice (approvalDecided)',
    });
  });

  it("relays a gateway's unsigned abandoned/waited/holding notice, but not a signed one", () => {
    const notice = (outcome: string, keyId = '') =>
      event({
        case: 'approvalDecided',
        value: create(ApprovalDecidedSchema, { approvalId: 'a1', outcome, keyId }),
      });
    expect(relayVerdict({ key: Buffer.from('a1'), value: notice('abandoned') })).toEqual({ id: 'a1' });
    expect(relayVerdict({ key: Buffer.from('a1'), value: notice('waited') })).toEqual({ id: 'a1' });
    expect(relayVerdict({ key: Buffer.from('a1'), value: notice('holding') })).toEqual({ id: 'a1' });
    expect(relayVerdict({ key: Buffer.from('a1'), value: notice('abandoned', 'k1') })).toEqual({
      dropped: 'not a request or a gateway notice (approvalDecided)',
    });
    expect(relayVerdict({ key: Buffer.from('a1'), value: notice('rejected') })).toEqual({
      dropped: 'not a request or a gateway notice (approvalDecided)',
    });
  });

  it('drops a request under another key, one without id, an empty event and garbage', () => {
    expect(relayVerdict({ key: Buffer.from('a2'), value: request('a1') })).toEqual({
      dropped: 'key is not the approval id',
    });
    expect(relayVerdict({ key: null, value: request('a1') })).toEqual({
      dropped: 'key is not the approval id',
    });
    expect(relayVerdict({ key: Buffer.from(''), value: request('') })).toEqual({ dropped: 'no approval id' });
    // The codec refuses an event without a body.
    expect(relayVerdict({ key: null, value: event({ case: undefined }) })).toEqual({
      dropped: 'undecodable',
    });
    expect(relayVerdict({ key: null, value: Buffer.from([0xff, 0xff, 0xff]) })).toEqual({
      dropped: 'undecodable',
    });
  });
});
