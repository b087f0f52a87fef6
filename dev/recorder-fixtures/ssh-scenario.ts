import { create } from '@bufbuild/protobuf';
import {
  DecisionSchema,
  RequestSchema,
  ResponseSchema,
  SessionClosedSchema,
  SessionOpenedSchema,
} from '../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../services/shared/events/codec.js';
import { SessionEvents } from '../../services/shared/events/session-events.js';

/**
 * Test fixture: the event stream of a realistic interactive SSH session as the gateway publishes it
 * (services/gateway/ssh/channel-audit.ts): an allowed `ssh.shell` with a pty, a prompt with colours, typed input
 * echoed back, `ls --color` output, a UTF-8 character split across two frames, stderr, a window resize, `exit`,
 * the exit status. Deterministic clock.
 */
export type SshScenarioOptions = {
  sessionId?: string;
  startMicros?: bigint;
  email?: string;
  /** Extra stdout frames after the prompt (e.g. hostile markup or escape sequences). */
  extraOutput?: readonly string[];
};

export const SSH_SCENARIO_REVISION = 'rev-ssh-1';

/** `output`: the stdout and stderr bytes in order (what the client's terminal received). */
export function sshShellScenario(opts: SshScenarioOptions = {}): { events: Event[]; output: Buffer } {
  const start = opts.startMicros ?? 1_714_564_800_000_000n;
  let clock = start;
  const tick = (micros: number): void => {
    clock += BigInt(micros);
  };
  const s = new SessionEvents({
    sessionId: opts.sessionId,
    nodeId: 'node-a',
    protocol: 'ssh',
    connection: { name: 'demo-ssh', tags: { env: 'test' } },
    now: () => clock,
  });
  const events: Event[] = [];
  const output: Buffer[] = [];
  const push = (body: Parameters<SessionEvents['next']>[0], revision = SSH_SCENARIO_REVISION): void => {
    events.push(s.next(body, revision));
  };
  const frame = (frameName: string, data: Buffer, extra: { code?: string; text?: string } = {}): void => {
    if (frameName === 'stdout' || frameName === 'stderr') output.push(data);
    push({
      case: 'response',
      value: create(ResponseSchema, { requestId: 1, frame: frameName, data, ...extra }),
    });
  };
  const out = (text: string | Buffer, ms = 40): void => {
    tick(ms * 1000);
    frame('stdout', typeof text === 'string' ? Buffer.from(text) : text);
  };
  const typed = (keys: string): void => {
    for (const k of keys) {
      tick(120_000);
      frame('stdin', Buffer.from(k));
      out(k === '\r' ? '\r\n' : k, 2);
    }
  };

  push({ case: 'sessionOpened', value: create(SessionOpenedSchema, { clientAddr: '10.0.0.9:40022' }) }, '');
  s.setIdentity({
    sub: 'u-alice',
    email: opts.email ?? 'alice@example.com',
    groups: ['ops'],
    agent: false,
    issuer: 'https://idp.test',
    client_id: 'ssh-cli',
  });
  tick(300_000);
  push({ case: 'request', value: create(RequestSchema, { requestId: 1, kind: 'ssh.shell', text: '' }) }, '');
  tick(500);
  push({
    case: 'decision',
    value: create(DecisionSchema, {
      requestId: 1,
      allow: true,
      reasons: ['ops may open shells'],
      audit: 'batched',
    }),
  });
  tick(20_000);
  frame('pty', Buffer.alloc(0), { text: 'xterm-256color', code: '100x30' });
  const prompt = '\u001b[01;32malice@web-1\u001b[00m:\u001b[01;34m~\u001b[00m$ ';
  out('Welcome to web-1 (Debian GNU/Linux 12)\r\n\r\n', 200);
  out(prompt);
  for (const extra of opts.extraOutput ?? []) out(extra);
  typed('ls\r');
  out('\u001b[0m\u001b[01;34mdeploy\u001b[0m  notes.txt  \u001b[01;32mrun.sh\u001b[0m\r\n');
  out(prompt);
  typed('echo caf\u00e9\r');
  const cafe = Buffer.from('caf\u00e9\r\n');
  out(cafe.subarray(0, 4)); // splits the two bytes of "é"
  out(cafe.subarray(4), 1);
  out(prompt);
  tick(300_000);
  frame('window_change', Buffer.alloc(0), { code: '120x40', text: '960x640' });
  typed('cat missing\r');
  tick(10_000);
  frame('stderr', Buffer.from('cat: missing: No such file or directory\r\n'));
  out(prompt);
  typed('exit\r');
  out('logout\r\n');
  tick(5_000);
  frame('exit_status', Buffer.alloc(0), { code: '0' });
  tick(1_000);
  push(
    {
      case: 'sessionClosed',
      value: create(SessionClosedSchema, {
        reason: 'client disconnected',
        requests: 1n,
        durationMicros: clock - start,
      }),
    },
    '',
  );
  return { events, output: Buffer.concat(output) };
}
