import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import type { Client, ClientChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAsciicast } from '../../services/recorder/asciicast.js';
import { decodeEvent } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import { masked, runSsh, sshDirect, startSshGatewayFixture } from '../support/ssh-gateway.js';
import type { SshGatewayFixture } from '../support/ssh-gateway.js';
import { testKafka, testLogger } from '../support/kafka.js';
import { stackValue } from '../support/stack.js';

let fx: SshGatewayFixture;
let consumer: EventConsumer;
const raw: Buffer[] = [];
const run = randomUUID().slice(0, 6);

/** A token for a fresh user (each test has its own subject, so its sessions are easy to find in the log). */
function token(name: string, opts: { agent?: boolean; groups?: string[] } = {}): Promise<string> {
  return fx.idp.issueToken({
    user: `${name}-${run}`,
    agent: opts.agent ?? false,
    groups: opts.groups ?? (opts.agent ? ['agents'] : ['engineering']),
  });
}

/** The recorded events of the sessions of `name`, once `done(events)` holds (or after 30 s). */
async function eventsOf(name: string, done: (events: Event[]) => boolean): Promise<Event[]> {
  const sub = `${name}-${run}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const seen = new Set<string>();
    const events = raw
      .map((b) => decodeEvent(b))
      .filter((e) => e.identity?.sub === sub && !seen.has(e.eventId) && seen.add(e.eventId));
    // Sessions in the order they started, each in sequence order.
    const started = new Map<string, bigint>();
    for (const e of events) {
      const t = started.get(e.sessionId);
      if (t === undefined || e.tsMicros < t) started.set(e.sessionId, e.tsMicros);
    }
    events.sort((a, b) => {
      if (a.sessionId === b.sessionId) return Number(a.seq - b.seq);
      return started.get(a.sessionId)! < started.get(b.sessionId)! ? -1 : 1;
    });
    if (done(events) || Date.now() > deadline) return events;
    await sleep(200);
  }
}

const closedCount = (events: Event[]) => events.filter((e) => e.body.case === 'sessionClosed').length;
const closed = (events: Event[]) => closedCount(events) > 0;

function responses(events: Event[], frame: string) {
  return events.flatMap((e) =>
    e.body.case === 'response' && e.body.value.frame === frame ? [e.body.value] : [],
  );
}

/** Strips OpenSSH's own notices (host key warning, connection closed) from captured stderr. */
function clientStderr(stderr: string): string {
  return stderr
    .split(/\r?\n/)
    .filter((l) => l !== '' && !/^Warning: Permanently added|^Connection to .* closed\.$/.test(l))
    .join('\n');
}

/** The node ssh2 client through the gateway (for what OpenSSH cannot script: signals, resizes, forwards). */
function connect(user: string, password: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c)).once('error', reject);
    c.connect({ host: '127.0.0.1', port: fx.port, username: user, password, readyTimeout: 20_000 });
  });
}

beforeAll(async () => {
  fx = await startSshGatewayFixture();
  // A fresh topic's metadata may lag on some brokers: retry the subscription until it takes.
  for (let attempt = 1; ; attempt++) {
    consumer = new EventConsumer(testKafka('ssh-test-reader'), testLogger, {
      groupId: `ssh-reader-${run}-${attempt}`,
      topics: [fx.sessionsTopic],
    });
    try {
      await consumer.start((records) => {
        for (const r of records) raw.push(r.value);
        return Promise.resolve();
      });
      break;
    } catch (err) {
      await consumer.kafkaConsumer.disconnect().catch(() => undefined);
      if (attempt >= 5) throw err;
      await sleep(1_000);
    }
  }
});

afterAll(async () => {
  await consumer?.stop();
  await fx?.stop();
});

describe('SSH through the gateway (real OpenSSH client, sshd, IdP and Kafka)', () => {
  it('runs allowed commands with their output and exit status; agents see masked output', async () => {
    const agent = await token('agent-cat', { agent: true });
    const uname = await runSsh(fx.port, 'demo-ssh', agent, ['uname -s']);
    expect(uname.status).toBe(0);
    expect(uname.stdout.toString()).toBe('Linux\n');

    const expected = await sshDirect('cat ~/logs/app.log');
    expect(expected.stdout.toString()).toContain('mary.johnson@example.org');
    const cat = await runSsh(fx.port, 'demo-ssh', agent, ['cat ~/logs/app.log']);
    expect(cat.status).toBe(0);
    expect(clientStderr(cat.stderr)).toBe('');
    const seen = cat.stdout.toString();
    expect(seen).toBe(
      masked(['card', 'email', 'national_id', 'phone', 'secret'], expected.stdout.toString()),
    );
    expect(seen).not.toContain('mary.johnson@example.org');
    expect(seen).not.toContain('4111111111111111');
    expect(seen).toContain('nightly export finished rows=1000');

    const events = await eventsOf('agent-cat', (e) => closedCount(e) >= 2);
    const catId = events.find(
      (e) => e.body.case === 'request' && e.body.value.text.startsWith('cat'),
    )!.sessionId;
    const catSession = events.filter((e) => e.sessionId === catId);
    expect(catSession.map((e) => Number(e.seq))).toEqual(catSession.map((_, i) => i + 1));
    const kinds = catSession.map((e) => e.body.case);
    expect(kinds[0]).toBe('sessionOpened');
    expect(kinds.at(-1)).toBe('sessionClosed');
    const request = catSession.find((e) => e.body.case === 'request')!.body.value as {
      kind: string;
      text: string;
    };
    expect(request).toMatchObject({ kind: 'ssh.exec', text: 'cat ~/logs/app.log' });
    const decision = catSession.find((e) => e.body.case === 'decision')!.body.value as { allow: boolean };
    expect(decision.allow).toBe(true);
    // What is recorded is what the client saw.
    expect(Buffer.concat(responses(catSession, 'stdout').map((r) => r.data)).equals(cat.stdout)).toBe(true);
    expect(responses(catSession, 'exit_status').map((r) => r.code)).toEqual(['0']);
    expect(catSession.every((e) => e.protocol === 'ssh' && e.connection?.name === 'demo-ssh')).toBe(true);
  });

  it('masks values split across SSH packets in large output', async () => {
    const lines = 3_000;
    const file = `~/logs/split-${run}.log`;
    await sshDirect(
      `for i in $(seq 1 ${lines}); do echo "line $i user$i@example.com card 4111111111111111 end"; done > ${file}`,
    );
    try {
      const expected = (await sshDirect(`cat ${file}`)).stdout.toString();
      const r = await runSsh(fx.port, 'demo-ssh', await token('agent-split', { agent: true }), [
        `cat ${file}`,
      ]);
      expect(r.status).toBe(0);
      const seen = r.stdout.toString();
      expect(seen.length).toBeGreaterThan(100_000);
      expect(seen).toBe(masked(['card', 'email', 'national_id', 'phone', 'secret'], expected));
      expect(seen).not.toMatch(/@example\.com|4111111111111111/);
      expect(seen.split('\n')).toHaveLength(lines + 1);
    } finally {
      await sshDirect(`rm -f ${file}`);
    }
  });

  it('passes non-zero exit statuses and exit signals through', async () => {
    const ls = await runSsh(fx.port, 'demo-ssh', await token('agent-ls', { agent: true }), [
      'ls /nonexistent',
    ]);
    expect(ls.status).toBe(2);
    expect(clientStderr(ls.stderr)).toMatch(/^ls: cannot access '\/nonexistent': No such file or directory$/);

    const human = await token('human-exit');
    const three = await runSsh(fx.port, 'demo-ssh', human, ["sh -c 'exit 3'"]);
    expect(three.status, three.stderr.toString()).toBe(3);

    const killed = `perl -e 'kill "TERM", $$'`;
    const viaGateway = await runSsh(fx.port, 'demo-ssh', human, [killed]);
    const directly = await sshDirect(killed);
    expect(directly.status).toBe(255); // OpenSSH reports an exit signal as 255
    expect(viaGateway.status).toBe(directly.status);
    const events = await eventsOf('human-exit', (e) => closedCount(e) >= 2);
    expect(responses(events, 'exit_status').map((r) => r.code || r.text)).toEqual(['3', 'signal TERM']);
  });

  it('refuses a denied command with a clear stderr line and status 126; nothing runs', async () => {
    const marker = `/tmp/gh-ssh-denied-${run}`;
    await sshDirect(`touch ${marker}`);
    const agent = await token('agent-rm', { agent: true });
    const r = await runSsh(fx.port, 'demo-ssh', agent, [`rm -rf ${marker}`]);
    expect(r.status).toBe(126);
    expect(clientStderr(r.stderr)).toBe(
      'gatehouse: denied: command rm requires approval by oncall; approval required from oncall',
    );
    expect(existsSync(marker)).toBe(true);
    await sshDirect(`rm -f ${marker}`);

    const peek = await runSsh(fx.port, 'demo-ssh', agent, ['cat /etc/passwd']);
    expect(peek.status).toBe(126);
    expect(clientStderr(peek.stderr)).toBe(
      "gatehouse: denied: command 'cat' is not allowed for agents with these arguments",
    );
    expect(peek.stdout.length).toBe(0);

    const events = await eventsOf('agent-rm', (e) => closedCount(e) >= 2);
    const decisions = events.flatMap((e) => (e.body.case === 'decision' ? [e.body.value] : []));
    expect(decisions.map((d) => [d.allow, d.approvalRequired, d.approvalGroups])).toEqual([
      [false, true, ['oncall']],
      [false, false, []],
    ]);
    expect(responses(events, 'exit_status').map((x) => x.code)).toEqual(['126', '126']);
    expect(responses(events, 'stderr')[0]!.data.toString()).toContain('gatehouse: denied: command rm');
  });

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

  it('refuses bad tokens, unknown connections, client keys and broken upstreams with a clear reason', async () => {
    const agent = await token('agent-auth', { agent: true });
    const bad = await runSsh(fx.port, 'demo-ssh', 'not-a-token', ['uname']);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout.length).toBe(0);
    expect(bad.stderr).toContain('gatehouse: access token rejected: token is not a JWT');

    const forged = await runSsh(fx.port, 'demo-ssh', `${agent.slice(0, -6)}AAAAAA`, ['uname']);
    expect(forged.status).not.toBe(0);
    expect(forged.stderr).toMatch(/gatehouse: access token rejected/);
    expect(forged.stderr).not.toContain(agent.slice(0, 40));

    const unknown = await runSsh(fx.port, 'no-such-connection', agent, ['uname']);
    expect(unknown.status).toBe(255);
    expect(unknown.stderr).toContain('gatehouse: unknown connection "no-such-connection"');

    const pinned = await runSsh(fx.port, 'demo-ssh-wrong-pin', agent, ['uname']);
    expect(pinned.status).toBe(255);
    expect(pinned.stderr).toContain('upstream host key for connection "demo-ssh-wrong-pin" does not match');

    const down = await runSsh(fx.port, 'demo-ssh-down', agent, ['uname']);
    expect(down.status).toBe(255);
    expect(down.stderr).toContain('gatehouse: upstream for connection "demo-ssh-down" is unavailable');

    // A client key is no identity here: publickey is not even offered.
    const key = await runSsh(fx.port, 'demo-ssh', agent, ['uname'], {
      options: [
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'PreferredAuthentications=publickey',
        '-i',
        stackValue('SSH_TARGET_KEY_FILE'),
      ],
    });
    expect(key.status).toBe(255);
    expect(key.stderr).toMatch(/Permission denied \(password,keyboard-interactive\)/);
  });

  it('keeps serving a running session while other logins fail', async () => {
    const human = await token('human-busy');
    const slow = runSsh(fx.port, 'demo-ssh', human, ["sh -c 'sleep 3; echo slow-done'"]);
    await sleep(500);
    const agent = await token('agent-busy', { agent: true });
    const others = await Promise.all([
      runSsh(fx.port, 'demo-ssh', 'garbage', ['uname']),
      runSsh(fx.port, 'nope', agent, ['uname']),
      runSsh(fx.port, 'demo-ssh-down', agent, ['uname']),
      runSsh(fx.port, 'demo-ssh', agent, ['uptime']),
    ]);
    expect(others.slice(0, 3).map((o) => o.status)).toEqual([5, 255, 255]);
    const uptime = others[3];
    expect({ status: uptime.status, stderr: clientStderr(uptime.stderr) }).toEqual({ status: 0, stderr: '' });
    expect(uptime.stdout.toString()).toMatch(/load average/);
    const done = await slow;
    expect(done.status).toBe(0);
    expect(done.stdout.toString()).toBe('slow-done\n');
  });

  it('never publishes or logs the upstream private key or a token', async () => {
    await eventsOf('human-busy', closed);
    const keyBody = fx.upstreamKey
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'))
      .map((l) => l.trim());
    expect(keyBody.length).toBeGreaterThan(2);
    const token = await fx.idp.issueToken({ user: `probe-${run}` });
    await runSsh(fx.port, 'demo-ssh', token, ['uname']);
    await eventsOf('probe', closed);
    const haystacks = [...raw.map((b) => b.toString('latin1')), ...fx.logs];
    expect(raw.length).toBeGreaterThan(20);
    for (const h of haystacks) {
      for (const line of keyBody) expect(h).not.toContain(line);
      expect(h).not.toContain(token);
      expect(h).not.toContain('BEGIN OPENSSH PRIVATE KEY');
    }
  });
});
