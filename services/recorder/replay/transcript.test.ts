import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { RequestSchema, ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { SessionEvents } from '../../shared/events/session-events.js';
import { recordEvents } from '../../../dev/recorder-fixtures/recorded.js';
import { approvalStream, postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import {
  ERROR_RESPONSE,
  NOTICE_RESPONSE,
  SELECT_RESPONSE,
} from '../../../dev/pg-wire-fixtures/postgres15.js';
import { renderTranscript } from './transcript.js';

const recorded = recordEvents;

const SESSION = '00000000-0000-4000-8000-000000000001';

describe('renderTranscript', () => {
  it('renders a Postgres session: statements, decisions, tables, errors, approvals, timings', () => {
    const text = renderTranscript(recorded(postgresScenario({ sessionId: SESSION, rows: 4 })));
    expect(text).toBe(`Session ${SESSION} (postgres, connection demo-pg)
  identity: alice@example.com (sub u-alice), groups dba,oncall, agent
  node: node-a, client 10.0.0.7:51234
  opened: 2024-05-01T12:00:00.000Z

#1 sql @ 2024-05-01T12:00:01.000Z
> SELECT id, name FROM users ORDER BY id
[+0.4 ms] decision: ALLOW (policy rev-7f3a) — read-only query
[+2.1 ms] result:
 id |  name
----+---------
  1 | ann
  2 | o'brien
  3 |
  4 | zoë
(4 rows)
[+2.4 ms] SELECT 4

#2 sql @ 2024-05-01T12:00:03.002Z
> DELETE FROM users
[+0.3 ms] decision: DENY (policy rev-7f3a) — DELETE without WHERE
[+0.3 ms] ERROR 42501: denied by policy: DELETE without WHERE
  HINT: add a WHERE clause

#3 sql @ 2024-05-01T12:00:04.002Z
> UPDATE users SET name = 'bob' WHERE id = 2
[+0.3 ms] decision: APPROVAL (policy rev-7f3a) — writes need approval
[+0.4 ms] approval requested apr-1 from dba — writes need approval (https://gatehouse.test/approvals/apr-1)
[+30.00 s] approval apr-1 approved by bob@example.com: looks fine
[+30.00 s] NOTICE 00000: trigger audit_users fired
[+30.00 s] UPDATE 1

Session closed @ 2024-05-01T12:00:39.005Z (reason: client terminated, 3 requests, duration 39.01 s)
`);
  });

  it('renders captured PostgreSQL 15 bytes like psql (numbers right-aligned, NULL empty)', () => {
    const s = new SessionEvents({
      sessionId: SESSION,
      nodeId: 'n',
      protocol: 'postgres',
      connection: { name: 'pg', tags: {} },
      now: () => 1_000_000n,
    });
    const events = [
      s.next({
        case: 'request',
        value: create(RequestSchema, { requestId: 1, kind: 'sql', text: 'SELECT …' }),
      }),
      s.next({
        case: 'response',
        value: create(ResponseSchema, { requestId: 1, frame: 'data_rows', data: SELECT_RESPONSE }),
      }),
      s.next({
        case: 'request',
        value: create(RequestSchema, { requestId: 2, kind: 'sql', text: 'SELECT 1/0' }),
      }),
      s.next({
        case: 'response',
        value: create(ResponseSchema, { requestId: 2, frame: 'error', data: ERROR_RESPONSE }),
      }),
      s.next({ case: 'request', value: create(RequestSchema, { requestId: 3, kind: 'sql', text: 'DO …' }) }),
      s.next({
        case: 'response',
        value: create(ResponseSchema, { requestId: 3, frame: 'notice', data: NOTICE_RESPONSE }),
      }),
    ];
    const body = renderTranscript(recorded(events)).split('\n').slice(4).join('\n');
    expect(body).toBe(`
#1 sql @ 1970-01-01T00:00:01.000Z
> SELECT …
[+0.0 ms] result:
 n |    s    | z | amount
---+---------+---+--------
 1 | o'brien |   |  12.50
(1 row)
[+0.0 ms] SELECT 1

#2 sql @ 1970-01-01T00:00:01.000Z
> SELECT 1/0
[+0.0 ms] ERROR 22012: division by zero

#3 sql @ 1970-01-01T00:00:01.000Z
> DO …
[+0.0 ms] NOTICE 00000: hello 42
[+0.0 ms] DO
`);
  });

  it('renders SSH output as text, joining chunks and escaping terminal control sequences', () => {
    let t = 5_000_000n;
    const s = new SessionEvents({
      sessionId: SESSION,
      nodeId: 'n',
      protocol: 'ssh',
      connection: { name: 'bastion', tags: {} },
      now: () => (t += 1000n),
    });
    const out = (frame: string, data: string, extra: object = {}) =>
      s.next({
        case: 'response',
        value: create(ResponseSchema, { requestId: 1, frame, data: Buffer.from(data), ...extra }),
      });
    const events = [
      s.next({
        case: 'request',
        value: create(RequestSchema, { requestId: 1, kind: 'ssh.exec', text: 'ls -l /srv' }),
      }),
      out('stdout', 'total 2\r\ndrw'),
      out('stdout', 'x app\n\u001b[31mred\u001b[0m\n'),
      out('stderr', 'ls: cannot access x\n'),
      out('exit_status', '', { code: '2' }),
    ];
    const body = renderTranscript(recorded(events)).split('\n').slice(4).join('\n');
    expect(body).toBe(`
#1 ssh.exec @ 1970-01-01T00:00:05.001Z
> ls -l /srv
[+1.0 ms] stdout:
total 2
drwx app
\\e[31mred\\e[0m
[+3.0 ms] stderr:
ls: cannot access x
[+4.0 ms] exit status 2
`);
  });

  it('renders an approvals-topic stream', () => {
    const text = renderTranscript(recorded(approvalStream('apr-9', SESSION)));
    expect(text).toContain('Session approval:apr-9 (postgres, connection demo-pg)');
    expect(text).toContain('[+1.00 s] approval apr-9 reviewed: approve by bob@example.com: ok');
    expect(text).toContain('[+2.00 s] approval apr-9 approved by bob@example.com');
  });

  it('de-duplicates by event id, orders by seq, and survives bad payloads and truncated results', () => {
    const events = recorded(postgresScenario({ sessionId: SESSION, rows: 250 }));
    const shuffled = [...events].reverse();
    shuffled.push({ ...events[3]! });
    expect(renderTranscript(shuffled, { maxRowsPerResult: 2 })).toBe(
      renderTranscript(events, { maxRowsPerResult: 2 }),
    );
    const text = renderTranscript(events, { maxRowsPerResult: 2 });
    expect(text).toContain("  2 | o'brien\n… 248 more rows not shown\n(250 rows)\n");

    const broken = events.map((e) =>
      e.frame === 'command_complete' ? { ...e, payload: Buffer.from([0x43, 0, 0]).toString('base64') } : e,
    );
    expect(renderTranscript(broken)).toContain(
      'command_complete: undecodable payload (3 bytes): trailing 3 bytes are not a message',
    );
    const noBytes = events.map((e) => (e.frame === 'error' ? { ...e, payload: '' } : e));
    expect(renderTranscript(noBytes)).toContain('ERROR 42501: denied by policy: DELETE without WHERE');
    expect(renderTranscript([])).toBe('(no events)\n');
  });
});
