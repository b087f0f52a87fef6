import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionSummary } from '../replay/recorded-event.js';
import type { CliIo } from './cli-io.js';
import { runRecorder } from './run-recorder.js';
import { runReplay } from './run-replay.js';
import { formatSessions, runSessions } from './run-sessions.js';
import { parseSince } from './time-args.js';

const NOW = new Date('2024-05-01T12:00:00Z');

function io(
  responses: Record<string, { status: number; body: unknown }> = {},
  env: Record<string, string> = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const urls: string[] = [];
  const cli: CliIo = {
    env,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    now: () => NOW,
    fetch: (input) => {
      const url = input instanceof Request ? input.url : input.toString();
      urls.push(url);
      const path = new URL(url).pathname;
      const r = responses[path] ?? {
        status: 404,
        body: { error: { code: 'GH_ERR_NOT_FOUND', message: 'no such route' } },
      };
      return Promise.resolve(new Response(JSON.stringify(r.body), { status: r.status }));
    },
  };
  return { cli, out, err, urls };
}

const summary: SessionSummary = {
  sessionId: 's-1',
  startedAt: '2024-05-01T11:30:00.000Z',
  startedMicros: 0,
  endedAt: '',
  closed: true,
  lastEventAt: '',
  identity: { sub: 'u1', email: 'a@example.com', groups: [], agent: true },
  connection: 'demo-pg',
  protocol: 'postgres',
  nodeId: 'n',
  clientAddr: '',
  requests: 12,
  allowed: 10,
  denied: 2,
  approvals: 0,
  rowsReturned: 3400,
  bytes: 0,
  events: 40,
  lastSeq: 40,
  closeReason: 'client terminated',
};

describe('gatehouse sessions', () => {
  it('queries the API with the filters and prints a table', async () => {
    const t = io(
      { '/v1/sessions': { status: 200, body: { sessions: [summary] } } },
      { GATEHOUSE_RECORDER_URL: 'http://rec:1/' },
    );
    expect(
      await runSessions(['--identity', 'a@example.com', '--connection', 'demo-pg', '--since', '1h'], t.cli),
    ).toBe(0);
    const url = new URL(t.urls[0]!);
    expect(url.origin).toBe('http://rec:1');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      identity: 'a@example.com',
      connection: 'demo-pg',
      from: '2024-05-01T11:00:00.000Z',
    });
    expect(t.out.join('')).toBe(formatSessions([summary]));
    expect(formatSessions([summary])).toBe(
      'STARTED                   SESSION  IDENTITY       CONNECTION  PROTOCOL  REQUESTS  DENIED  ROWS  STATE\n' +
        '2024-05-01T11:30:00.000Z  s-1      a@example.com  demo-pg     postgres        12       2  3400  closed (client terminated)\n',
    );
  });

  it('exits 2 on bad arguments and 1 when the recorder fails', async () => {
    expect(await runSessions(['--since', 'yesterday'], io().cli)).toBe(2);
    expect(await runSessions(['--bogus'], io().cli)).toBe(2);
    expect(await runSessions(['--limit', '0'], io().cli)).toBe(2);
    const t = io({
      '/v1/sessions': {
        status: 503,
        body: { error: { code: 'X', message: 'the recording store is unavailable' } },
      },
    });
    expect(await runSessions([], t.cli)).toBe(1);
    expect(t.err.join('')).toContain('the recording store is unavailable');
  });
});

describe('gatehouse replay', () => {
  it('requires exactly one session id and a known format', async () => {
    expect(await runReplay([], io().cli)).toBe(2);
    expect(await runReplay(['a', 'b'], io().cli)).toBe(2);
    expect(await runReplay(['a', '--format', 'xml'], io().cli)).toBe(2);
  });

  it('reports an unknown session', async () => {
    const t = io({
      '/v1/sessions/nope/events': {
        status: 404,
        body: { error: { code: 'GH_ERR_SESSION_NOT_FOUND', message: 'no recorded session with this id' } },
      },
    });
    expect(await runReplay(['nope'], t.cli)).toBe(1);
    expect(t.err.join('')).toBe('gatehouse: no recorded session with this id\n');
    expect(t.urls[0]).toMatch(/^http:\/\/127\.0\.0\.1:8610\/v1\/sessions\/nope\/events\?limit=/);
  });
});

describe('gatehouse replay --format asciicast', () => {
  const CAST = '{"version":2,"width":80,"height":24,"timestamp":0,"env":{"TERM":"xterm"}}\n[0.1,"o","$ "]\n';
  function castIo(status: number, body: string) {
    const t = io();
    t.cli.fetch = (input) => {
      t.urls.push(input instanceof Request ? input.url : input.toString());
      return Promise.resolve(new Response(body, { status }));
    };
    return t;
  }

  it('prints the recording, or writes it to --output', async () => {
    const t = castIo(200, CAST);
    expect(await runReplay(['s/1', '--format', 'asciicast', '--recorder', 'http://rec:1'], t.cli)).toBe(0);
    expect(t.out.join('')).toBe(CAST);
    expect(t.urls).toEqual(['http://rec:1/v1/sessions/s%2F1/asciicast']);
    const file = join(mkdtempSync(join(tmpdir(), 'gh-cast-')), 'out.cast');
    const f = castIo(200, CAST);
    expect(await runReplay(['s-1', '--format', 'asciicast', '--output', file], f.cli)).toBe(0);
    expect(f.out).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe(CAST);
  });

  it('exits 1 with the API message when there is nothing to play', async () => {
    const t = castIo(
      404,
      JSON.stringify({
        error: { code: 'GH_ERR_NO_TERMINAL_OUTPUT', message: 'the session recorded no terminal output' },
      }),
    );
    expect(await runReplay(['s-1', '--format', 'asciicast'], t.cli)).toBe(1);
    expect(t.err.join('')).toBe('gatehouse: the session recorded no terminal output\n');
    expect(await runReplay(['s-1', '--format', 'asciicast', '--output', ''], t.cli)).toBe(2);
  });
});

describe('gatehouse recorder', () => {
  it('exits 2 without --config or with an invalid file', async () => {
    const t = io();
    expect(await runRecorder([], t.cli)).toBe(2);
    expect(t.err.join('')).toContain('--config FILE is required');
    const dir = mkdtempSync(join(tmpdir(), 'gh-rec-cli-'));
    const file = join(dir, 'r.yaml');
    writeFileSync(file, 'kafka: {brokers: []}\n');
    const bad = io();
    expect(await runRecorder(['--config', file], bad.cli)).toBe(2);
    expect(bad.err.join('')).toMatch(/kafka\.brokers.*\n.*clickhouse/s);
  });
});

describe('parseSince', () => {
  it('reads durations and absolute times', () => {
    expect(parseSince('90m', NOW)).toEqual(new Date('2024-05-01T10:30:00Z'));
    expect(parseSince('2d', NOW)).toEqual(new Date('2024-04-29T12:00:00Z'));
    expect(parseSince('2024-04-01T00:00:00Z', NOW)).toEqual(new Date('2024-04-01T00:00:00Z'));
    expect(() => parseSince('soon', NOW)).toThrow(/--since/);
  });
});
