import { describe, expect, it } from 'vitest';
import type { TimelineEntry, TimelineResponse } from '../replay/timeline-entry.js';
import type { CliIo } from './cli-io.js';
import { formatTimeline, runTimeline } from './run-timeline.js';

const NOW = new Date('2024-05-01T12:00:00Z');

const entry = (over: Partial<TimelineEntry>): TimelineEntry => ({
  at: '2024-05-01T11:30:00.000Z',
  atMicros: 0,
  protocol: 'postgres',
  connection: 'demo-pg',
  sessionId: 's-1',
  requestId: 1,
  requestKind: 'sql',
  text: 'select 1',
  statement: 'select 1',
  statementChars: 8,
  decision: 'allow',
  approval: '',
  reasons: ['read-only'],
  identity: { sub: 'u1', email: '' },
  ...over,
});

const RESPONSE: TimelineResponse = {
  identity: 'u1',
  from: '2024-05-01T11:00:00.000Z',
  to: '2024-05-01T12:00:00.000Z',
  entries: [
    entry({}),
    entry({
      protocol: 'http',
      connection: 'api\u001b[31m',
      sessionId: 's-2',
      requestId: 12,
      requestKind: 'http.DELETE',
      text: 'DELETE /x',
      decision: 'approval',
      approval: 'rejected',
      reasons: ['needs oncall'],
    }),
  ],
  truncated: true,
};

function io(status = 200, body: unknown = RESPONSE) {
  const out: string[] = [];
  const err: string[] = [];
  const urls: string[] = [];
  const cli: CliIo = {
    env: { GATEHOUSE_TOKEN: 't' },
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    now: () => NOW,
    fetch: (input) => {
      urls.push(input instanceof Request ? input.url : input.toString());
      return Promise.resolve(new Response(JSON.stringify(body), { status }));
    },
  };
  return { cli, out, err, urls };
}

describe('gatehouse timeline', () => {
  it('asks the API for the identity and window, and prints aligned columns', async () => {
    const t = io();
    const argv = ['--identity', "o'brien%", '--since', '1h', '--protocol', 'http', '--limit', '5'];
    expect(await runTimeline(argv, t.cli)).toBe(0);
    expect(Object.fromEntries(new URL(t.urls[0]!).searchParams)).toEqual({
      identity: "o'brien%",
      from: '2024-05-01T11:00:00.000Z',
      protocol: 'http',
      limit: '5',
    });
    expect(t.out.join('')).toBe(formatTimeline(RESPONSE));
    expect(formatTimeline(RESPONSE)).toBe(
      'TIME                      PROTOCOL  CONNECTION  SESSION  REQ  KIND         DECISION           REQUEST\n' +
        '2024-05-01T11:30:00.000Z  postgres  demo-pg     s-1        1  sql          allow              select 1 — read-only\n' +
        '2024-05-01T11:30:00.000Z  http      api\\e[31m   s-2       12  http.DELETE  approval:rejected  DELETE /x — needs oncall\n' +
        '… more requests matched: narrow the window or raise --limit\n',
    );
    const json = io();
    expect(await runTimeline(['--identity', 'u1', '--format', 'json'], json.cli)).toBe(0);
    expect(JSON.parse(json.out.join(''))).toEqual(RESPONSE);
  });

  it('exits 2 on bad arguments and 1 when the recorder fails', async () => {
    for (const argv of [
      [],
      ['--identity', ''],
      ['--identity', 'x', '--since', 'soon'],
      ['--identity', 'x', '--until', 'later'],
      ['--identity', 'x', '--limit', '1001'],
      ['--identity', 'x', '--limit', '0x10'],
      ['--identity', 'x', '--protocol', 'grpc'],
      ['--identity', 'x', '--format', 'csv'],
      ['--identity', 'x', '--since', '1h', '--until', '2h'],
      ['--identity', 'x', 'extra'],
    ]) {
      const t = io();
      expect(await runTimeline(argv, t.cli), argv.join(' ')).toBe(2);
      expect(t.err.join('')).toContain('usage: gatehouse timeline');
      expect(t.urls).toEqual([]);
    }
    const down = io(503, {
      error: { code: 'GH_ERR_STORE_UNAVAILABLE', message: 'the recording store is unavailable' },
    });
    expect(await runTimeline(['--identity', 'x'], down.cli)).toBe(1);
    expect(down.err.join('')).toBe('gatehouse: the recording store is unavailable\n');
  });
});
