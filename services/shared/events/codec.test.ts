import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { RequestSchema, ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { decodeEvent, encodeEvent } from './codec.js';
import { EventDecodeError } from './errors.js';
import { SessionEvents } from './session-events.js';

const session = () =>
  new SessionEvents({
    nodeId: 'node-a',
    protocol: 'postgres',
    connection: { name: 'demo-pg', tags: { env: 'prod' } },
    identity: {
      sub: 'u1',
      email: 'u1@example.com',
      groups: ['dba'],
      agent: true,
      issuer: 'https://idp',
      client_id: 'c',
    },
  });

describe('event codec', () => {
  it('round-trips an envelope with every identifying field', () => {
    const s = session();
    const event = s.next({
      case: 'request',
      value: create(RequestSchema, { requestId: 7, kind: 'sql', text: 'select 1', parsedJson: '{}' }),
    });
    const back = decodeEvent(encodeEvent(event));
    expect(back.eventId).toBe(event.eventId);
    expect(back.sessionId).toBe(s.sessionId);
    expect(back.seq).toBe(1n);
    expect(back.nodeId).toBe('node-a');
    expect(back.identity?.groups).toEqual(['dba']);
    expect(back.identity?.agent).toBe(true);
    expect(back.connection?.tags).toEqual({ env: 'prod' });
    expect(back.body.case).toBe('request');
    expect(back.body.case === 'request' && back.body.value.text).toBe('select 1');
  });

  it('numbers events of a session 1, 2, 3 with unique ids', () => {
    const s = session();
    const body = { case: 'response', value: create(ResponseSchema, { frame: 'stdout' }) } as const;
    const events = [s.next(body), s.next(body), s.next(body)];
    expect(events.map((e) => e.seq)).toEqual([1n, 2n, 3n]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
  });

  it('keeps response bytes exactly', () => {
    const data = Uint8Array.from([0, 1, 2, 255, 68, 0, 0, 0, 4]);
    const e = session().next({
      case: 'response',
      value: create(ResponseSchema, { frame: 'data_rows', data, rows: 1 }),
    });
    const back = decodeEvent(encodeEvent(e));
    expect(back.body.case === 'response' && Buffer.from(back.body.value.data).equals(Buffer.from(data))).toBe(
      true,
    );
  });

  it('rejects corrupt bytes with a typed error', () => {
    const bytes = encodeEvent(
      session().next({ case: 'request', value: create(RequestSchema, { text: 'x' }) }),
    );
    const truncated = bytes.subarray(0, bytes.length - 3);
    expect(() => decodeEvent(truncated)).toThrow(EventDecodeError);
    expect(() => decodeEvent(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/corrupt event bytes/);
  });

  it('rejects an envelope without id, session, seq or body', () => {
    expect(() => decodeEvent(new Uint8Array())).toThrow(/incomplete event envelope/);
  });

  it('ignores unknown fields from newer producers', () => {
    const bytes = encodeEvent(
      session().next({ case: 'request', value: create(RequestSchema, { text: 'x' }) }),
    );
    // field 99, varint 1: a field this version does not know
    const extended = Buffer.concat([Buffer.from(bytes), Buffer.from([0x98, 0x06, 0x01])]);
    expect(decodeEvent(extended).body.case).toBe('request');
  });
});
