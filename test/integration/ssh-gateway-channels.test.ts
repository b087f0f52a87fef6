import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAsciicast } from '../../services/recorder/asciicast.js';
import { runSsh } from '../support/ssh-gateway.js';
import type { SshGatewayFixture } from '../support/ssh-gateway.js';
import { closed, responses, startSshTestBed } from '../support/ssh-test-bed.js';
import type { SshTestBed } from '../support/ssh-test-bed.js';
import { stackValue } from '../support/stack.js';

let bed: SshTestBed;
let fx: SshGatewayFixture;
let token: SshTestBed['token'];
let eventsOf: SshTestBed['eventsOf'];
let connect: SshTestBed['connect'];

beforeAll(async () => {
  bed = await startSshTestBed();
  ({ fx, token, eventsOf, connect } = bed);
});

afterAll(() => bed?.stop());

describe('SSH shells, pty, signals and channel types through the gateway', () => {
  it('records an interactive pty shell; its asciicast replays what the client printed', async () => {
    const human = await token('human-shell');
    const script = 'echo hello-$((6*7))\nprintf "%s\\n" "mail me: carol@example.net"\nexit 0\n';
    const r = await runSsh(fx.port, 'demo-ssh', human, ['-tt'], { stdin: script });
    expect(r.status).toBe(0);
    const screen = r.stdout.toString();
    expect(screen).toContain('hello-42');
    expect(screen).toContain('carol@example.net'); // people get no content masking in the example policy

    const events = await eventsOf('human-shell', closed);
    const request = events.find((e) => e.body.case === 'request')!.body.value as { kind: string };
    expect(request.kind).toBe('ssh.shell');
    expect(responses(events, 'pty')).toHaveLength(1);
    expect(responses(events, 'stdin').length).toBeGreaterThan(0);
    const cast = toAsciicast(events);
    const [header, ...lines] = cast.trimEnd().split('\n');
    expect(JSON.parse(header!)).toMatchObject({ version: 2, env: { TERM: expect.any(String) as string } });
    const output = lines
      .map((l) => JSON.parse(l) as [number, string, string])
      .filter((e) => e[1] === 'o')
      .map((e) => e[2])
      .join('');
    expect(output).toBe(screen);

    const agentShell = await runSsh(
      fx.port,
      'demo-ssh',
      await token('agent-shell', { agent: true }),
      ['-tt'],
      {
        stdin: 'id\nexit\n',
      },
    );
    expect(agentShell.status).toBe(126);
    expect(agentShell.stderr).toContain(
      'gatehouse: denied: interactive shells are only for people, not agents\r\n',
    );
  });

  it('passes window changes and signals through (node ssh2 client)', async () => {
    const c = await connect('demo-ssh', await token('human-signals'));
    try {
      const shell = await new Promise<ClientChannel>((resolve, reject) =>
        c.shell({ rows: 24, cols: 80, term: 'xterm' }, (err, ch) => (err ? reject(err) : resolve(ch))),
      );
      let out = '';
      shell.on('data', (b: Buffer) => (out += b.toString()));
      shell.setWindow(50, 132, 0, 0);
      await sleep(300);
      shell.write('stty size; exit\n');
      await new Promise((r) => shell.on('close', r));
      expect(out).toMatch(/\r50 132\r\n/);

      const sleeper = await new Promise<ClientChannel>((resolve, reject) =>
        c.exec('echo ready; exec sleep 30', (err, ch) => (err ? reject(err) : resolve(ch))),
      );
      const exit = new Promise<unknown[]>((resolve) =>
        sleeper.on('exit', (...args: unknown[]) => resolve(args)),
      );
      sleeper.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) sleeper.signal('KILL');
      });
      sleeper.stderr.resume();
      expect((await exit).slice(0, 2)).toEqual([null, 'SIGKILL']);
    } finally {
      c.end();
    }
    const events = await eventsOf('human-signals', closed);
    expect(responses(events, 'window_change').map((r) => r.code)).toEqual(['132x50']);
    expect(responses(events, 'signal').map((r) => r.text)).toEqual(['KILL']);
    expect(responses(events, 'exit_status').map((r) => r.code || r.text)).toEqual(['0', 'signal KILL']);
    const cast = toAsciicast(events).trimEnd().split('\n');
    expect(JSON.parse(cast[0]!)).toMatchObject({ width: 80, height: 24, env: { TERM: 'xterm' } });
    expect(cast.map((l) => JSON.parse(l) as unknown[]).filter((e) => e[1] === 'r')).toEqual([
      [expect.any(Number), 'r', '132x50'],
    ]);
  });

  it('refuses port forwarding and subsystems (sftp) that policy denies', async () => {
    const c = await connect('demo-ssh', await token('human-forward'));
    try {
      const fwd = await new Promise<Error | undefined>((resolve) =>
        c.forwardOut('127.0.0.1', 5555, '127.0.0.1', Number(stackValue('PG_TARGET_PORT')), (err) =>
          resolve(err),
        ),
      );
      expect(fwd?.message).toMatch(/Channel open failure/);
      const sftp = await new Promise<Error | undefined>((resolve) => c.sftp((err) => resolve(err)));
      expect(sftp).toBeInstanceOf(Error);
      const uname = await new Promise<string>((resolve, reject) =>
        c.exec('uname -s', (err, ch) => {
          if (err) return reject(err);
          let s = '';
          ch.on('data', (b: Buffer) => (s += b.toString())).on('close', () => resolve(s));
        }),
      );
      expect(uname).toBe('Linux\n'); // the session is still usable
    } finally {
      c.end();
    }
    const events = await eventsOf('human-forward', closed);
    const reasons = events.flatMap((e) =>
      e.body.case === 'decision' ? [e.body.value.reasons.join('; ')] : [],
    );
    expect(reasons).toEqual([
      'port forwarding is not allowed',
      "ssh subsystem 'sftp' is not allowed",
      'people may run commands',
    ]);
  });
});
