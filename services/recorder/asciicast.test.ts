import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { RequestSchema, ResponseSchema } from '../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../proto/gen/gatehouse/v1/events_pb.js';
import { SessionEvents } from '../shared/events/session-events.js';
import { buildAsciicast, fromEvent, recordedToAsciicast, toAsciicast } from './asciicast.js';
import { toEventRow, toRecordedEvent } from './store/event-row.js';
import { sshShellScenario } from '../../dev/recorder-fixtures/ssh-scenario.js';

function session(start = 1_700_000_000_000_000n) {
  let t = start;
  const s = new SessionEvents({
    nodeId: 'n',
    protocol: 'ssh',
    connection: { name: 'demo-ssh', tags: {} },
    now: () => (t += 250_000n),
  });
  const request = (requestId: number, kind: string, text = ''): Event =>
    s.next({ case: 'request', value: create(RequestSchema, { requestId, kind, text }) });
  const frame = (
    requestId: number,
    name: string,
    data: string | Uint8Array = '',
    extra: object = {},
  ): Event =>
    s.next({
      case: 'response',
      value: create(ResponseSchema, {
        requestId,
        frame: name,
        data: typeof data === 'string' ? Buffer.from(data) : data,
        ...extra,
      }),
    });
  return { request, frame };
}

function parse(cast: string): { header: Record<string, unknown>; events: [number, string, string][] } {
  const [first, ...rest] = cast.trimEnd().split('\n');
  return {
    header: JSON.parse(first!) as Record<string, unknown>,
    events: rest.map((l) => JSON.parse(l) as [number, string, string]),
  };
}

describe('toAsciicast', () => {
  it('exports the shell channel: header from the pty, output and resizes with relative times', () => {
    const { request, frame } = session();
    const events = [
      request(1, 'ssh.exec', 'uname -s'),
      frame(1, 'stdout', 'Linux\n'),
      frame(1, 'exit_status', '', { code: '0' }),
      request(2, 'ssh.shell'),
      frame(2, 'pty', '', { text: 'xterm-256color', code: '120x40' }),
      frame(2, 'stdout', '$ '),
      frame(2, 'stdin', 'ls\r'),
      frame(2, 'stdout', 'ls\r\nfile\r\n'),
      frame(2, 'stderr', 'warn\r\n'),
      frame(2, 'window_change', '', { code: '100x30', text: '800x600' }),
      frame(2, 'exit_status', '', { code: '0' }),
    ];
    const { header, events: out } = parse(toAsciicast(events));
    expect(header).toEqual({
      version: 2,
      width: 120,
      height: 40,
      timestamp: 1_700_000_001, // the shell request's time (the fourth event, 4 × 0.25 s after the start)
      env: { TERM: 'xterm-256color' },
    });
    expect(out).toEqual([
      [0.5, 'o', '$ '],
      [1, 'o', 'ls\r\nfile\r\n'],
      [1.25, 'o', 'warn\r\n'],
      [1.5, 'r', '100x30'],
    ]);
  });

  it('orders by seq, drops duplicates, joins UTF-8 split across frames, and can include input', () => {
    const { request, frame } = session();
    const euro = Buffer.from('€');
    const events = [
      request(1, 'ssh.exec', 'printf €'),
      frame(1, 'stdin', 'y\n'),
      frame(1, 'stdout', euro.subarray(0, 1)),
      frame(1, 'stdout', euro.subarray(1)),
    ];
    const shuffled = [events[3]!, events[1]!, events[0]!, events[2]!, events[3]!];
    const { header, events: out } = parse(toAsciicast(shuffled, { input: true }));
    expect(header.title).toBe('printf €');
    expect(header.width).toBe(80);
    expect(out).toEqual([
      [0.25, 'i', 'y\n'],
      [0.75, 'o', '€'],
    ]);
    expect(out.map((e) => e[2]).join('')).not.toContain('\ufffd');
  });

  it('exports a chosen request, and only output without input by default', () => {
    const { request, frame } = session();
    const events = [
      request(1, 'ssh.shell'),
      frame(1, 'stdout', 'one'),
      request(2, 'ssh.exec', 'id'),
      frame(2, 'stdin', 'secret\n'),
      frame(2, 'stdout', 'uid=1000'),
    ];
    const { events: out } = parse(toAsciicast(events, { requestId: 2 }));
    expect(out).toEqual([[0.5, 'o', 'uid=1000']]);
    expect(toAsciicast([])).toBe(
      '{"version":2,"width":80,"height":24,"timestamp":0,"env":{"TERM":"xterm"}}\n',
    );
  });
});

describe('the shared core: Kafka events and ClickHouse rows give the same recording', () => {
  const at = { topic: 't', partition: 0, offset: '0' };
  const statements = { byRequest: () => undefined, byApproval: () => undefined };
  const { events, output } = sshShellScenario();
  const recorded = events.map((e) => toRecordedEvent(toEventRow(e, at, statements)));

  it('renders identical asciicast text from both paths, with or without input', () => {
    const fromRows = recordedToAsciicast(recorded);
    expect(fromRows.cast).toBe(toAsciicast(events));
    expect(recordedToAsciicast(recorded, { input: true }).cast).toBe(toAsciicast(events, { input: true }));
    expect(fromRows.requestId).toBe(1);
    expect(fromRows.outputEvents).toBeGreaterThan(10);
  });

  it('keeps every output byte: the "o" texts concatenate to what the terminal received', () => {
    const { header, events: out } = parse(recordedToAsciicast(recorded).cast);
    expect(header).toMatchObject({ version: 2, width: 100, height: 30, env: { TERM: 'xterm-256color' } });
    const text = out
      .filter((e) => e[1] === 'o')
      .map((e) => e[2])
      .join('');
    expect(Buffer.from(text)).toEqual(output);
    expect(out.filter((e) => e[1] === 'r')).toEqual([[expect.any(Number), 'r', '120x40']]);
    const times = out.map((e) => e[0]);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('reports no output for sessions without terminal frames', () => {
    const pg = buildAsciicast([]);
    expect(pg.outputEvents).toBe(0);
    expect(pg.requestId).toBe(0);
    const onlyInput = events.filter(
      (e) => !(e.body.case === 'response' && /^std(out|err)$/.test(e.body.value.frame)),
    );
    expect(buildAsciicast(onlyInput.map(fromEvent)).outputEvents).toBe(0);
  });
});
