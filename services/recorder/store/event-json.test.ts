import { create, toJson } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ContinuationSchema,
  DecisionSchema,
  EventSchema,
  RequestSchema,
  ResponseSchema,
  SessionOpenedSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { approvalStream, postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import { sshShellScenario } from '../../../dev/recorder-fixtures/ssh-scenario.js';
import type { Event } from '../../shared/events/codec.js';
import { SessionEvents } from '../../shared/events/session-events.js';
import { splitEvent } from '../../shared/events/split-event.js';
import { decodeRecord } from '../../shared/events/codec.js';
import { encodeAsBatches } from '../../shared/events/event-batch.js';
import {
  BODY_COLUMNS,
  bodyWriter,
  FAST_ENVELOPE_FIELDS,
  fullEventJson,
  leanEventJson,
  reflectedLeanEventJson,
} from './event-json.js';
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

/** `event_json` as the recorder stored it from 2026-12-01 to this change: lean, but the event id, seq and body kept. */
function leanBeforeJson(event: Event, tsMicrosColumn: bigint): string {
  const body = event.body;
  if (body.case === 'sessionOpened') return JSON.stringify(toJson(EventSchema, event));
  const empty = new Uint8Array(0);
  const lean: Event = {
    ...event,
    sessionId: '',
    nodeId: '',
    policyRevision: '',
    tsMicros: event.tsMicros === tsMicrosColumn ? 0n : event.tsMicros,
    identity: event.identity && { ...event.identity, sub: '', email: '', groups: [], agent: false },
    connection: event.connection && { ...event.connection, name: '' },
    body:
      body.case === 'response'
        ? { case: 'response', value: { ...body.value, data: empty } }
        : body.case === 'continuation'
          ? { case: 'continuation', value: { ...body.value, data: empty } }
          : body,
  };
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
      for (const key of ['eventId', 'seq', 'sessionId', 'nodeId', 'policyRevision'])
        expect(stored[key]).toBeUndefined();
      const bodyCase = e.body.case!;
      const body = stored[bodyCase] ?? {};
      for (const [field, column] of Object.entries(BODY_COLUMNS[bodyCase] ?? {})) {
        expect(body[field], `${bodyCase}.${field} is in column ${column}`).toBeUndefined();
      }
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

  it('reads rows stored lean before (event id, seq and body fields in the JSON too) unchanged', () => {
    for (const e of all) {
      const row = toEventRow(e, at, NO_STATEMENTS);
      const before = JSON.parse(leanBeforeJson(e, row.ts_micros)) as unknown;
      expect(JSON.stringify(fullEventJson(row, before))).toBe(wholeJson(e));
    }
  });

  it('is denser: a response row stores less than half the JSON it did, a request not its text twice', () => {
    const pg = postgresScenario();
    const response = toEventRow(
      pg.find((x) => x.body.case === 'response')!,
      at,
      NO_STATEMENTS,
    );
    expect(response.event_json.length).toBeLessThan(
      wholeJson(pg.find((x) => x.body.case === 'response')!).length * 0.5,
    );
    const request = toEventRow(
      pg.find((x) => x.body.case === 'request')!,
      at,
      NO_STATEMENTS,
    );
    expect(request.statement.length).toBeGreaterThan(10);
    expect(request.event_json).not.toContain(JSON.stringify(request.statement).slice(1, -1));
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

  it('writes body messages of plain fields as toJson does, byte for byte, long repeated texts included', () => {
    for (const schema of [RequestSchema, DecisionSchema, ResponseSchema, ContinuationSchema]) {
      expect(bodyWriter(schema)).toBeDefined();
    }
    expect(bodyWriter(SessionOpenedSchema)).toBeUndefined(); // a map field: toJson
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.constantFrom('{"kind":"sql","text":"SELECT 1 \\ \u0000 \n"}'.repeat(4), '"'.repeat(60)),
    );
    const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
    const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    const messages = fc.oneof(
      fc
        .record({ requestId: u32, kind: text, text, parsedJson: text })
        .map((v) => [RequestSchema, create(RequestSchema, v)] as const),
      fc
        .record({
          requestId: u32,
          allow: fc.boolean(),
          reasons: fc.array(text, { maxLength: 3 }),
          maskColumns: fc.array(text, { maxLength: 2 }),
          decisionJson: text,
          evalMicros: u32,
          inputUnix: i64,
          inputGrantsJson: text,
        })
        .map((v) => [DecisionSchema, create(DecisionSchema, v)] as const),
      fc
        .record({
          requestId: u32,
          frame: text,
          data: fc.uint8Array({ maxLength: 40 }),
          rows: u32,
          code: text,
        })
        .map((v) => [ResponseSchema, create(ResponseSchema, v)] as const),
    );
    fc.assert(
      fc.property(messages, ([schema, message]) => {
        const write = bodyWriter(schema)!;
        const json = write(message);
        expect(json).toBe(JSON.stringify(toJson(schema, message)));
        expect(write(message as never)).toBe(json); // again, from the kept literals
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});
