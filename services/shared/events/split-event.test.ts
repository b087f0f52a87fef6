import { create, equals, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EventSchema,
  RequestSchema,
  ResponseSchema,
  SessionOpenedSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { decodeEvent, encodeEvent } from './codec.js';
import { EventTooLargeError } from './errors.js';
import { SessionEvents } from './session-events.js';
import { joinEvent, splitEvent } from './split-event.js';

const events = () =>
  new SessionEvents({
    sessionId: 's-1',
    nodeId: 'node-a',
    protocol: 'postgres',
    connection: { name: 'demo-pg', tags: { env: 'demo' } },
    identity: {
      sub: 'u1',
      email: 'a@example.com',
      groups: ['dba'],
      agent: true,
      issuer: 'i',
      client_id: 'c',
    },
  });

/** Splits like SessionAudit does and returns the decoded frames. */
function frames(s: SessionEvents, max: number, body: Parameters<SessionEvents['next']>[0]) {
  const event = s.next(body);
  if (encodeEvent(event).length <= max) return { event, out: [event] };
  const { head, parts } = splitEvent(event, max, s.continuationOverhead);
  const out = [head, ...parts.map((p) => s.nextContinuation({ case: 'continuation', value: p }))];
  return { event, out: out.map((e) => decodeEvent(encodeEvent(e))) };
}

function rejoin(out: ReturnType<typeof frames>['out']) {
  const [head, ...rest] = out;
  return joinEvent(
    head!,
    rest.map((e) => {
      if (e.body.case !== 'continuation') throw new Error('not a continuation');
      return e.body.value;
    }),
  );
}

describe('splitEvent / joinEvent', () => {
  it('leaves an event that fits alone (no copy, no continuation)', () => {
    const s = events();
    const { event, out } = frames(s, 64 * 1024, {
      case: 'request',
      value: create(RequestSchema, { requestId: 1, kind: 'sql', text: 'SELECT 1' }),
    });
    expect(out).toEqual([event]);
    expect(s.lastSeq).toBe(1n);
  });

  it('splits a 1 MiB statement and its parsed JSON into bounded frames with consecutive seqs', () => {
    const s = events();
    const max = 64 * 1024;
    const text = `SELECT '${'é€x'.repeat(350_000)}'`;
    const body = {
      case: 'request' as const,
      value: create(RequestSchema, { requestId: 7, kind: 'sql', text, parsedJson: JSON.stringify({ text }) }),
    };
    const { event, out } = frames(s, max, body);
    expect(out.length).toBeGreaterThan(30);
    for (const e of out) expect(encodeEvent(e).length).toBeLessThanOrEqual(max);
    expect(out.map((e) => e.seq)).toEqual(out.map((_, i) => BigInt(i + 1)));
    expect(out[0]!.continued).toBe(out.length - 1);
    expect(out[0]!.body.case).toBe('request');
    const parts = out.slice(1).map((e) => (e.body.case === 'continuation' ? e.body.value : undefined));
    expect(parts.map((p) => p?.part)).toEqual(parts.map((_, i) => i + 1));
    expect(new Set(parts.map((p) => p?.fieldName))).toEqual(new Set(['text', 'parsed_json']));
    expect(parts.every((p) => p?.requestId === 7 && p.headSeq === 1n)).toBe(true);
    expect(out[1]!.identity).toBeUndefined();
    const joined = rejoin(out);
    expect(equals(EventSchema, joined, { ...event, continued: 0 })).toBe(true);
  });

  it('splits a multi-MiB row batch at the bytes level', () => {
    const s = events();
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
    const { event, out } = frames(s, 512 * 1024, {
      case: 'response',
      value: create(ResponseSchema, { requestId: 2, frame: 'result', data, rows: 1, text: 'SELECT 1' }),
    });
    expect(out.length).toBeGreaterThanOrEqual(7);
    expect(out.length).toBeLessThanOrEqual(8);
    for (const e of out) expect(encodeEvent(e).length).toBeLessThanOrEqual(512 * 1024);
    const joined = Buffer.from(toBinary(EventSchema, rejoin(out)));
    expect(joined.equals(toBinary(EventSchema, { ...event, continued: 0 }))).toBe(true);
  });

  it('round-trips any body under any bound (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 20_000 }),
        fc.uint8Array({ maxLength: 40_000 }),
        fc.integer({ min: 4096, max: 16_384 }),
        (text, data, max) => {
          const s = events();
          const { event, out } = frames(s, max, {
            case: 'response',
            value: create(ResponseSchema, { requestId: 3, frame: 'data_rows', data, text }),
          });
          for (const e of out) expect(encodeEvent(e).length).toBeLessThanOrEqual(max);
          const joined = out.length === 1 ? out[0]! : rejoin(out);
          expect(equals(EventSchema, joined, { ...event, continued: 0 })).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses an event whose envelope alone exceeds the bound', () => {
    const s = events();
    const event = s.next({
      case: 'sessionOpened',
      value: create(SessionOpenedSchema, { attributes: { big: 'x'.repeat(100_000) } }),
    });
    expect(() => splitEvent(event, 64 * 1024, s.continuationOverhead)).toThrow(EventTooLargeError);
  });
});
