import { create } from '@bufbuild/protobuf';
import {
  ApprovalDecidedSchema,
  ApprovalRequestedSchema,
  ApprovalReviewedSchema,
  DecisionSchema,
  IdentitySchema,
  RequestSchema,
  ResponseSchema,
  SessionClosedSchema,
  SessionOpenedSchema,
} from '../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../services/shared/events/codec.js';
import { SessionEvents } from '../../services/shared/events/session-events.js';
import {
  commandComplete,
  dataRow,
  errorResponse,
  noticeResponse,
  readyForQuery,
  rowDescription,
} from '../../services/shared/pg-wire/index.js';

/** Type OIDs of the scenario's columns. */
const PG_TYPES = { int4: 23, text: 25 } as const;

/**
 * Test fixtures: the event stream of a realistic Postgres session (an allowed SELECT with rows, a denied DELETE,
 * an UPDATE that waits for approval) as a gateway publishes it, with a deterministic clock.
 */
export type ScenarioOptions = {
  sessionId?: string;
  /** Microseconds of the first event. */
  startMicros?: bigint;
  /** Rows the SELECT returns (in data_rows batches of 100). */
  rows?: number;
  email?: string;
};

export const SCENARIO_REVISION = 'rev-7f3a';

export function postgresScenario(opts: ScenarioOptions = {}): Event[] {
  let clock = opts.startMicros ?? 1_714_564_800_000_000n; // 2024-05-01T12:00:00Z
  const tick = (micros: number): void => {
    clock += BigInt(micros);
  };
  const email = opts.email ?? 'alice@example.com';
  const s = new SessionEvents({
    sessionId: opts.sessionId,
    nodeId: 'node-a',
    protocol: 'postgres',
    connection: { name: 'demo-pg', tags: { env: 'test' } },
    now: () => clock,
  });
  const out: Event[] = [];
  const push = (body: Parameters<SessionEvents['next']>[0], revision = ''): void => {
    out.push(s.next(body, revision));
  };
  const response = (
    requestId: number,
    frame: string,
    data: Buffer,
    extra: { rows?: number; text?: string; code?: string } = {},
  ) =>
    push(
      { case: 'response', value: create(ResponseSchema, { requestId, frame, data, ...extra }) },
      SCENARIO_REVISION,
    );

  push({
    case: 'sessionOpened',
    value: create(SessionOpenedSchema, {
      clientAddr: '10.0.0.7:51234',
      attributes: { application_name: 'psql' },
    }),
  });
  s.setIdentity({
    sub: 'u-alice',
    email,
    groups: ['dba', 'oncall'],
    agent: true,
    issuer: 'https://idp.test',
    client_id: 'agent-cli',
  });

  // 1: allowed SELECT
  tick(1_000_000);
  const select = 'SELECT id, name FROM users ORDER BY id';
  push({
    case: 'request',
    value: create(RequestSchema, { requestId: 1, kind: 'sql', text: select, parsedJson: '{"kind":"sql"}' }),
  });
  tick(400);
  push(
    {
      case: 'decision',
      value: create(DecisionSchema, {
        requestId: 1,
        allow: true,
        reasons: ['read-only query'],
        audit: 'batched',
      }),
    },
    SCENARIO_REVISION,
  );
  tick(1_700);
  response(
    1,
    'row_description',
    rowDescription([
      { name: 'id', typeOid: PG_TYPES.int4 },
      { name: 'name', typeOid: PG_TYPES.text },
    ]),
  );
  const total = opts.rows ?? 3;
  const names = ['ann', "o'brien", null, 'zoë'];
  for (let start = 0; start < total; start += 100) {
    const batch: Buffer[] = [];
    for (let i = start; i < Math.min(total, start + 100); i++)
      batch.push(dataRow([String(i + 1), names[i % names.length] ?? null]));
    tick(200);
    response(1, 'data_rows', Buffer.concat(batch), { rows: batch.length });
  }
  tick(100);
  response(1, 'command_complete', commandComplete(`SELECT ${total}`), { text: `SELECT ${total}` });
  response(1, 'ready', readyForQuery('I'));

  // 2: denied DELETE
  tick(2_000_000);
  push({
    case: 'request',
    value: create(RequestSchema, { requestId: 2, kind: 'sql', text: 'DELETE FROM users', parsedJson: '{}' }),
  });
  tick(300);
  push(
    {
      case: 'decision',
      value: create(DecisionSchema, {
        requestId: 2,
        allow: false,
        reasons: ['DELETE without WHERE'],
        audit: 'sync',
      }),
    },
    SCENARIO_REVISION,
  );
  tick(50);
  response(
    2,
    'error',
    errorResponse({
      severity: 'ERROR',
      code: '42501',
      message: 'denied by policy: DELETE without WHERE',
      hint: 'add a WHERE clause',
    }),
    { text: 'denied by policy: DELETE without WHERE', code: '42501' },
  );
  response(2, 'ready', readyForQuery('I'));

  // 3: UPDATE after approval
  tick(1_000_000);
  const update = "UPDATE users SET name = 'bob' WHERE id = 2";
  push({
    case: 'request',
    value: create(RequestSchema, { requestId: 3, kind: 'sql', text: update, parsedJson: '{}' }),
  });
  tick(300);
  push(
    {
      case: 'decision',
      value: create(DecisionSchema, {
        requestId: 3,
        allow: false,
        approvalRequired: true,
        approvalGroups: ['dba'],
        reasons: ['writes need approval'],
      }),
    },
    SCENARIO_REVISION,
  );
  tick(100);
  push(
    {
      case: 'approvalRequested',
      value: create(ApprovalRequestedSchema, {
        approvalId: 'apr-1',
        requestId: 3,
        requestText: update,
        reasons: ['writes need approval'],
        groups: ['dba'],
        approveUrl: 'https://gatehouse.test/approvals/apr-1',
      }),
    },
    SCENARIO_REVISION,
  );
  tick(30_000_000);
  push(
    {
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId: 'apr-1',
        requestId: 3,
        outcome: 'approved',
        reason: 'looks fine',
        reviewer: create(IdentitySchema, { sub: 'u-bob', email: 'bob@example.com' }),
      }),
    },
    SCENARIO_REVISION,
  );
  tick(2_000);
  response(
    3,
    'notice',
    noticeResponse({ severity: 'NOTICE', code: '00000', message: 'trigger audit_users fired' }),
  );
  response(3, 'command_complete', commandComplete('UPDATE 1'), { text: 'UPDATE 1' });
  response(3, 'ready', readyForQuery('I'));

  tick(5_000_000);
  push({
    case: 'sessionClosed',
    value: create(SessionClosedSchema, {
      reason: 'client terminated',
      requests: 3n,
      durationMicros: clock - (opts.startMicros ?? 1_714_564_800_000_000n),
    }),
  });
  return out;
}

/**
 * The approvals-topic stream of one approval as the approval service publishes it: envelope session id
 * `approval:<id>`, its own seq; requested, one review, the outcome.
 */
export function approvalStream(
  approvalId: string,
  gatewaySessionId: string,
  startMicros = 1_714_564_900_000_000n,
): Event[] {
  let clock = startMicros;
  const s = new SessionEvents({
    sessionId: `approval:${approvalId}`,
    nodeId: 'approval-1',
    protocol: 'postgres',
    connection: { name: 'demo-pg', tags: {} },
    identity: {
      sub: 'u-alice',
      email: 'alice@example.com',
      groups: ['dba'],
      agent: true,
      issuer: 'https://idp.test',
      client_id: 'c',
    },
    now: () => (clock += 1_000_000n),
  });
  const reviewer = create(IdentitySchema, { sub: 'u-bob', email: 'bob@example.com', groups: ['dba'] });
  return [
    s.next({
      case: 'approvalRequested',
      value: create(ApprovalRequestedSchema, {
        approvalId,
        requestId: 3,
        requestText: "UPDATE users SET name = 'bob' WHERE id = 2",
        groups: ['dba'],
        sessionId: gatewaySessionId,
        nodeId: 'node-a',
      }),
    }),
    s.next({
      case: 'approvalReviewed',
      value: create(ApprovalReviewedSchema, {
        approvalId,
        verdict: 'approve',
        reviewer,
        reason: 'ok',
        channel: 'web',
      }),
    }),
    s.next({
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId,
        requestId: 3,
        outcome: 'approved',
        reviewer,
        sessionId: gatewaySessionId,
      }),
    }),
  ];
}
