import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSsh } from '../support/ssh-gateway.js';
import type { SshGatewayFixture } from '../support/ssh-gateway.js';
import { clientStderr, startSshTestBed } from '../support/ssh-test-bed.js';
import type { SshTestBed } from '../support/ssh-test-bed.js';
import { stackValue } from '../support/stack.js';

let bed: SshTestBed;
let fx: SshGatewayFixture;
let token: SshTestBed['token'];

beforeAll(async () => {
  bed = await startSshTestBed();
  ({ fx, token } = bed);
});

afterAll(() => bed?.stop());

describe('SSH refusals and secrets through the gateway', () => {
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
});
