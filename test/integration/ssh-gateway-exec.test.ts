import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masked, runSsh, sshDirect } from '../support/ssh-gateway.js';
import type { SshGatewayFixture } from '../support/ssh-gateway.js';
import { clientStderr, closed, closedCount, responses, startSshTestBed } from '../support/ssh-test-bed.js';
import type { SshTestBed } from '../support/ssh-test-bed.js';

let bed: SshTestBed;
let fx: SshGatewayFixture;
let raw: Buffer[];
let run: string;
let token: SshTestBed['token'];
let eventsOf: SshTestBed['eventsOf'];

beforeAll(async () => {
  bed = await startSshTestBed();
  ({ fx, raw, run, token, eventsOf } = bed);
});

afterAll(() => bed?.stop());

describe('SSH exec through the gateway (real OpenSSH client, sshd, IdP and Kafka)', () => {
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

  it('never publishes or logs the upstream private key or a token', async () => {
    await eventsOf('agent-split', closed); // the largest masked outputs of this file have arrived
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
