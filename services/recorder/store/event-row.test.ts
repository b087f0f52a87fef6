import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  EventSchema,
  LoginRefusedSchema,
  ResponseSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { NO_STATEMENTS } from '../../../dev/recorder-fixtures/recorded.js';
import { postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import {
  decisionLabel,
  EVENT_COLUMNS,
  eventRowValues,
  requestKey,
  toEventRow,
  toRecordedEvent,
} from './event-row.js';

const at = { topic: 'gatehouse.sessions', partition: 4, offset: '1234' };

describe('toEventRow', () => {
  const events = postgresScenario({ sessionId: 's-1', rows: 2 });
  const rows = events.map((e) =>
    toEventRow(e, at, {
      byRequest: (s, r) => (s === 's-1' && r === 2 ? 'DELETE FROM users' : undefined),
      byApproval: () => undefined,
    }),
  );

  it('flattens the envelope', () => {
    const opened = rows[0]!;
    expect(opened).toMatchObject({
      session_id: 's-1',
      seq: 1n,
      ts: 1_714_564_800,
      ts_micros: 1_714_564_800_000_000n,
      kind: 'session_opened',
      protocol: 'postgres',
      connection: 'demo-pg',
      node_id: 'node-a',
      identity_sub: '',
      text: '10.0.0.7:51234',
      kafka_topic: 'gatehouse.sessions',
      kafka_partition: 4,
      kafka_offset: 1234n,
    });
    expect(rows.map((r) => r.kind)).toContain('approval_decided');
    expect(rows[1]).toMatchObject({
      kind: 'request',
      identity_email: 'alice@example.com',
      identity_groups: ['dba', 'oncall'],
      is_agent: true,
    });
  });

  it('maps login_refused: reason in code, client address in text, the explanation in reasons', () => {
    const refused = create(EventSchema, {
      eventId: 'e-r',
      sessionId: 's-refused',
      seq: 1n,
      nodeId: 'node-a',
      tsMicros: 1_714_564_800_000_000n,
      protocol: 'ssh',
      connection: { name: 'no-such', protocol: 'ssh' },
      body: {
        case: 'loginRefused',
        value: create(LoginRefusedSchema, {
          reason: 'bad_token',
          code: 'GH_ERR_TOKEN_INVALID',
          clientAddr: '10.0.0.9:4444',
          detail: 'gatehouse: access token rejected: token is malformed',
        }),
      },
    });
    expect(toEventRow(refused, at, NO_STATEMENTS)).toMatchObject({
      kind: 'login_refused',
      protocol: 'ssh',
      connection: 'no-such',
      code: 'bad_token',
      text: '10.0.0.9:4444',
      reasons: ['gatehouse: access token rejected: token is malformed'],
      identity_sub: '',
    });
  });

  it('labels decisions and carries the request text', () => {
    const denied = rows.find((r) => r.kind === 'decision' && r.request_id === 2)!;
    expect(denied).toMatchObject({
      decision: 'deny',
      reasons: ['DELETE without WHERE'],
      statement: 'DELETE FROM users',
      policy_revision: 'rev-7f3a',
    });
    expect(rows.find((r) => r.kind === 'decision' && r.request_id === 3)!.decision).toBe('approval');
    expect(rows.find((r) => r.kind === 'approval_requested')!).toMatchObject({
      approval_id: 'apr-1',
      statement: "UPDATE users SET name = 'bob' WHERE id = 2",
    });
    expect(rows.find((r) => r.kind === 'approval_decided')!).toMatchObject({
      code: 'approved',
      reviewer: 'bob@example.com',
      text: 'looks fine',
    });
    expect([decisionLabel(true, false), decisionLabel(false, false), decisionLabel(false, true)]).toEqual([
      'allow',
      'deny',
      'approval',
    ]);
  });

  it('keeps response bytes in payload and out of event_json', () => {
    const dataRows = rows.find((r) => r.frame === 'data_rows')!;
    const original = events.flatMap((e) =>
      e.body.case === 'response' && e.body.value.frame === 'data_rows' ? [e.body.value] : [],
    )[0]!;
    expect(dataRows.rows).toBe(2);
    expect(Buffer.from(dataRows.payload).equals(Buffer.from(original.data))).toBe(true);
    expect(dataRows.payload_bytes).toBe(dataRows.payload.length);
    const json = JSON.parse(dataRows.event_json) as {
      response: Record<string, unknown>;
      eventId: string;
      seq: string;
    };
    expect(json.response.data).toBeUndefined();
    // Columns hold the frame, the event id and the seq; the replayed event has them back.
    expect(json.response.frame).toBeUndefined();
    expect(json.eventId).toBeUndefined();
    expect(json.seq).toBeUndefined();
    const replayed = toRecordedEvent(dataRows).event as typeof json;
    expect(replayed.response.frame).toBe('data_rows');
    expect(replayed.eventId).toBe(dataRows.event_id);
    expect(replayed.seq).toBe(String(dataRows.seq));
    expect(eventRowValues(dataRows)).toHaveLength(EVENT_COLUMNS.length);
  });

  it('clamps timestamps to the DateTime range', () => {
    const base = {
      eventId: 'e',
      sessionId: 's',
      seq: 1n,
      body: { case: 'response' as const, value: create(ResponseSchema, {}) },
    };
    expect(toEventRow(create(EventSchema, { ...base, tsMicros: -5n }), at, NO_STATEMENTS)).toMatchObject({
      ts: 0,
      ts_micros: 0n,
    });
    expect(toEventRow(create(EventSchema, { ...base, tsMicros: 2n ** 62n }), at, NO_STATEMENTS).ts).toBe(
      4_294_967_295,
    );
    expect(requestKey('a', 1)).not.toBe(requestKey('a1', 0));
  });
});
