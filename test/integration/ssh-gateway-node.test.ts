import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually } from '../support/approval.js';
import { runSsh, SSH_CLIENT_OPTIONS, sshDirect, startSshGatewayNode } from '../support/ssh-gateway.js';
import type { SshGatewayNode } from '../support/ssh-gateway.js';

let node: SshGatewayNode;
const run = randomUUID().slice(0, 6);

const WAITING = /gatehouse: waiting for approval ([0-9a-f-]{36}) at (\S+)/;

/** Runs `command` as an agent; when the gateway announces the approval, a reviewer decides it through the API. */
async function withReview(command: string, verdict: 'approve' | 'reject', reviewer: string) {
  const agent = await node.idp.issueToken({ user: `agent-${run}`, agent: true, groups: ['agents'] });
  let decided: Promise<{ status: number }> | undefined;
  const result = await runSsh(node.port, 'demo-ssh', agent, [command], {
    onStderr: (text) => {
      const m = WAITING.exec(text);
      if (m && !decided) {
        decided = api(node.approval.url, 'POST', `/v1/approvals/${m[1]}/${verdict}`, reviewer, {
          reason: verdict === 'approve' ? 'cache cleanup is fine' : 'not now',
        });
      }
    },
  });
  return { result, review: await decided };
}

beforeAll(async () => {
  node = await startSshGatewayNode();
});

afterAll(async () => {
  await node?.stop();
});

describe('SSH on a whole gateway node (buildGateway wiring, approval service)', () => {
  it('serves allowed commands and counts them in the metrics', async () => {
    const agent = await node.idp.issueToken({ user: `agent-m-${run}`, agent: true, groups: ['agents'] });
    const r = await runSsh(node.port, 'demo-ssh', agent, ['cat ~/logs/app.log']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain('nightly export finished');
    expect(r.stdout.toString()).not.toContain('mary.johnson@example.org');
    const metrics = await (await fetch(`http://127.0.0.1:${node.gateway.healthPort}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_gateway_requests_total\{protocol="ssh",decision="allow"\} [1-9]/);
  });

  it('holds a command that needs approval, runs it once an oncall reviewer approves', async () => {
    const marker = `/tmp/gh-ssh-approve-${run}`;
    expect((await sshDirect(`touch ${marker}`)).status).toBe(0);
    const carol = await node.idp.issueToken({
      user: 'carol',
      email: 'carol@example.test',
      groups: ['oncall'],
    });
    const { result, review } = await withReview(`rm -f ${marker}`, 'approve', carol);
    expect(review?.status).toBe(200);
    expect(result.stderr).toContain('gatehouse: approval required: command rm requires approval by oncall');
    const waiting = WAITING.exec(result.stderr);
    expect(waiting?.[2]).toBe(`${node.approval.url}/approvals/${waiting?.[1]}`);
    expect(result.status).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses the command (126) when the reviewer rejects it', async () => {
    const marker = `/tmp/gh-ssh-reject-${run}`;
    expect((await sshDirect(`touch ${marker}`)).status).toBe(0);
    const carol = await node.idp.issueToken({
      user: 'carol',
      email: 'carol@example.test',
      groups: ['oncall'],
    });
    const { result, review } = await withReview(`rm -f ${marker}`, 'reject', carol);
    expect(review?.status).toBe(200);
    expect(result.status).toBe(126);
    expect(result.stderr).toMatch(
      /gatehouse: denied: approval [0-9a-f-]{36} rejected by carol@example\.test: not now/,
    );
    expect(existsSync(marker)).toBe(true);
    await sshDirect(`rm -f ${marker}`);
  });

  it('an SSH client that goes away while its command waits leaves an abandoned approval (late approve: 409)', async () => {
    const marker = `/tmp/gh-ssh-gone-${run}`;
    expect((await sshDirect(`touch ${marker}`)).status).toBe(0);
    const agent = await node.idp.issueToken({ user: `agent-g-${run}`, agent: true, groups: ['agents'] });
    const carol = await node.idp.issueToken({
      user: 'carol',
      email: 'carol@example.test',
      groups: ['oncall'],
    });
    // Its own process group, so the whole client (sshpass and ssh) can be killed at once.
    const child = spawn(
      'sshpass',
      ['-e', 'ssh', '-p', String(node.port), ...SSH_CLIENT_OPTIONS, 'demo-ssh@127.0.0.1', `rm -f ${marker}`],
      { env: { ...process.env, SSHPASS: agent }, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise((resolve) => child.on('close', resolve));
    const id = await eventually(() => WAITING.exec(stderr)?.[1], 30_000, 'the approval link');
    process.kill(-child.pid!, 'SIGKILL');
    await closed;
    const state = await eventually(
      async () => {
        const r = await api(node.approval.url, 'GET', `/v1/approvals/${id}`, carol);
        return r.body.approval?.state === 'abandoned' ? r.body.approval.state : undefined;
      },
      20_000,
      'abandoned',
    );
    expect(state).toBe('abandoned');
    const late = await api(node.approval.url, 'POST', `/v1/approvals/${id}/approve`, carol);
    expect(late.status).toBe(409);
    expect(existsSync(marker)).toBe(true);
    await sshDirect(`rm -f ${marker}`);
  });
});
