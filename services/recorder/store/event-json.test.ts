import { create, toJson } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { EventSchema, ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { approvalStream, postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import { sshShellScenario } from '../../../dev/recorder-fixtures/ssh-scenario.js';
import type { Event } from '../../shared/events/codec.js';
import { SessionEvents } from '../../shared/events/session-events.js';
import { splitEvent } from '../../shared/events/split-event.js';
import { decodeRecord } from '../../shared/events/codec.js';
import { encodeAsBatches } from '../../shared/events/event-batch.js';
import { FAST_ENVELOPE_FIELDS, fullEventJson, leanEventJson, reflectedLeanEventJson } from './event-json.js';
import { toEventRow } from './event-row.js';

const at = { topic: 't', partition: 0, offset: '1' };
const NO_STATEMENTS = { byRequest: () => undefined, byApproval: () => undefined };

/** The event JSON as it was stored whole before (payload bytes left out). */
function wholeJson(event: Event): string {
  const body = event.body;
  const empty = new Uint8Array(0);
  const lean: Event =
    body.case === 'response'
      ? { ...event, body: { case: 'response', value: { ...body.value, data: empty } } }
      : body.case === 'continuation'
        ? { ...event, body: { case: 'continuation', value: { ...body.value, data: empty } } }
        : event;
  return JSON.stringify(toJson(EventSchema, lean));
}

function withContinuations(): Event[] {
  const s = new SessionEvents({
    nodeId: 'n',
    protocol: 'postgres',
    connection: { name: 'c', tags: { a: 'b' } },
  });
  s.setIdentity({ sub: 'u', email: '', groups: [], agent: false, issuer: '', client_id: '' });
  const big = s.next(
    { case: 'response', value: create(ResponseSchema, { requestId: 1, data: Buffer.alloc(4000) }) },
    'r',
  );
  const split = splitEvent(big, 2048, s.continuationOverhead);
  return [split.head, ...split.parts.map((p) => s.nextContinuation({ case: 'continuation', value: p }))];
}

const odd: Event[] = [
  create(EventSchema, {
    eventId: 'e',
    sessionId: 's',
    seq: 1n,
    tsMicros: -5n,
    body: { case: 'response', value: create(ResponseSchema) },
  }),
  create(EventSchema, {
    eventId: 'e2',
    sessionId: 's',
    seq: 2n,
    tsMicros: 2n ** 62n,
    protocol: 'ssh',
    body: { case: 'response', value: create(ResponseSchema) },
  }),
];

describe('event_json', () => {
  const all = [
    ...postgresScenario({ rows: 120 }),
    ...approvalStream('apr-1', 'gw-1'),
    ...sshShellScenario().events,
    ...withContinuations(),
    ...odd,
  ];

  it('holds no envelope column twice (but session.opened whole), and the whole event comes back byte for byte', () => {
    for (const e of all) {
      const row = toEventRow(e, at, NO_STATEMENTS);
      expect(JSON.stringify(fullEventJson(row, JSON.parse(row.event_json)))).toBe(wholeJson(e));
      if (e.body.case === 'sessionOpened') {
        // The session's identity record, read as is by `gatehouse policy input|backtest` (migration 005).
        expect(row.event_json).toBe(wholeJson(e));
        continue;
      }
      const stored = JSON.parse(row.event_json) as Record<string, Record<string, unknown> | undefined>;
      for (const key of ['sessionId', 'nodeId', 'policyRevision']) expect(stored[key]).toBeUndefined();
      for (const key of ['sub', 'email', 'groups', 'agent'])
        expect(stored['identity']?.[key]).toBeUndefined();
      expect(stored['connection']?.['name']).toBeUndefined();
    }
  });

  it('reads rows stored whole (before) unchanged', () => {
    for (const e of all) {
      const row = toEventRow(e, at, NO_STATEMENTS);
      expect(JSON.stringify(fullEventJson(row, JSON.parse(wholeJson(e))))).toBe(wholeJson(e));
    }
  });

  it('is denser: a response row stores little more than half the JSON it did', () => {
    const e = postgresScenario().find((x) => x.body.case === 'response')!;
    const row = toEventRow(e, at, NO_STATEMENTS);
    expect(row.event_json.length).toBeLessThan(wholeJson(e).length * 0.6);
  });

  it('is written without reflecting over the envelope, byte for byte as the reflected form', () => {
    // Batch records decode into frames that share their envelope's identity and connection objects (cached JSON).
    const pg = postgresScenario({ rows: 40 });
    const expanded = encodeAsBatches(pg, 7).flatMap((r) => decodeRecord(r));
    const bare = create(EventSchema, {
      eventId: 'e3',
      sessionId: 's',
      seq: 3n,
      continued: 2,
      identity: {},
      connection: {},
      body: { case: 'response', value: create(ResponseSchema, { rows: 1 }) },
    });
    for (const e of [...all, ...expanded, bare]) {
      for (const column of [e.tsMicros, 0n, 7n]) {
        expect(leanEventJson(e, column)).toBe(reflectedLeanEventJson(e, column));
      }
    }
  });

  it('names every envelope field outside the body (a new field needs the fast path updated)', () => {
    const envelope = EventSchema.fields.filter((f) => f.oneof === undefined).map((f) => f.localName);
    expect(envelope).toEqual([...FAST_ENVELOPE_FIELDS]);
  });
});
