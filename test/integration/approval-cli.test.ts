import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApproval, runApprovals, runApprove, runReject } from '../../services/approval/main.js';
import type { ApprovalCliIo } from '../../services/approval/main.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import {
  AUDIENCE,
  approvalTestConfig,
  ddlRequest,
  ensureApprovalRequestsTopic,
  folded,
  startTestApprovalService,
  startTestIdp,
  startTestWaiter,
  testSigningKey,
} from '../support/approval.js';
import { uniqueTopic } from '../support/kafka.js';
import { kafkaConnection, PROJECT_ROOT } from '../support/stack.js';

let idp: RunningIdp;
let topic: string;
let service: RunningApprovalService;
let gw: Awaited<ReturnType<typeof startTestWaiter>>;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
  cleanups.push(() => idp.stop());
  topic = await uniqueTopic('approvals-cli');
  service = await startTestApprovalService(approvalTestConfig({ topic, idp }));
  cleanups.push(() => service.stop({ timeoutMs: 3_000 }));
  gw = await startTestWaiter({ topic, approvalUrl: service.url });
  cleanups.push(() => gw.stop());
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function io(env: Record<string, string>) {
  const out = { stdout: '', stderr: '' };
  const value: ApprovalCliIo = {
    env,
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    fetch: (input, init) => fetch(input, init),
  };
  return { io: value, out };
}

describe('reviewer CLI (gatehouse approvals / approve / reject)', () => {
  it('lists, approves and rejects with the token from the environment', async () => {
    const token = await idp.issueToken({ user: 'bob', groups: ['dba'], email: 'bob@example.test' });
    const env = { GATEHOUSE_TOKEN: token, GATEHOUSE_APPROVAL_URL: service.url };
    const a = gw.waiter.request(ddlRequest({ requestText: 'DROP TABLE t1;\n\u001b[2J-- clear screen' }));
    const b = gw.waiter.request(ddlRequest({ requestText: 'DROP TABLE t2' }));
    await folded(service, a.approvalId);
    await folded(service, b.approvalId);

    const list = io(env);
    expect(await runApprovals(['list'], list.io)).toBe(0);
    expect(list.out.stdout).toMatch(/^ID\s+STATE\s+REQUESTER\s+CONNECTION\s+EXPIRES\/DECIDED\s+REQUEST\n/);
    expect(list.out.stdout).toContain(a.approvalId);
    expect(list.out.stdout).toContain('DROP TABLE t1; ?[2J-- clear screen'); // no raw escape reaches the terminal
    expect(list.out.stdout).not.toContain('\u001b');

    const show = io(env);
    expect(await runApprovals(['show', a.approvalId], show.io)).toBe(0);
    expect(show.out.stdout).toContain('state      pending');
    expect(show.out.stdout).toContain('requester  alice@example.test (AI agent)');

    const approve = io(env);
    expect(await runApprove([a.approvalId, '--reason', 'fine'], approve.io)).toBe(0);
    expect(approve.out.stdout).toBe(`${a.approvalId} is approved\n`);
    expect((await a.outcome).outcome).toBe('approved');

    const noReason = io(env);
    expect(await runReject([b.approvalId], noReason.io)).toBe(2);
    expect(noReason.out.stderr).toContain('a rejection requires --reason');
    const reject = io({ GATEHOUSE_APPROVAL_URL: service.url });
    expect(await runReject([b.approvalId, '--reason', 'no', '--token', token], reject.io)).toBe(0);
    expect(reject.out.stdout).toBe(`${b.approvalId} is rejected\n`);
    expect((await b.outcome).outcome).toBe('rejected');

    const approved = io(env);
    expect(await runApprovals(['list', '--state', 'approved', '--json'], approved.io)).toBe(0);
    expect((JSON.parse(approved.out.stdout) as { id: string }[]).map((x) => x.id)).toContain(a.approvalId);
  });

  it('reports refusals and usage errors with exit codes', async () => {
    const alice = await idp.issueToken({ user: 'alice', groups: ['dba'] });
    const pending = gw.waiter.request(ddlRequest());
    await folded(service, pending.approvalId);
    const self = io({ GATEHOUSE_TOKEN: alice, GATEHOUSE_APPROVAL_URL: service.url });
    expect(await runApprove([pending.approvalId], self.io)).toBe(1);
    expect(self.out.stderr).toMatch(
      /^gatehouse approve: self-approval is not allowed.*\(GH_ERR_APPROVAL_SELF\)\n$/,
    );

    const noToken = io({ GATEHOUSE_APPROVAL_URL: service.url });
    expect(await runApprovals(['list'], noToken.io)).toBe(2);
    expect(noToken.out.stderr).toContain('an access token is required');
    const badState = io({ GATEHOUSE_TOKEN: alice });
    expect(await runApprovals(['list', '--state', 'odd'], badState.io)).toBe(2);
    const unknownFlag = io({ GATEHOUSE_TOKEN: alice });
    expect(await runApprove(['x', '--frobnicate'], unknownFlag.io)).toBe(2);
    const down = io({ GATEHOUSE_TOKEN: alice, GATEHOUSE_APPROVAL_URL: 'http://127.0.0.1:9' });
    expect(await runApprovals(['list'], down.io)).toBe(1);
    expect(down.out.stderr).toContain('cannot reach http://127.0.0.1:9');
    gw.waiter.cancel(pending.approvalId);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gatehouse approval --config FILE', () => {
  it('rejects a bad config with every problem and its path (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-approval-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kafka:\n  brokers: [nope]\noidc:\n  issuer: ftp://x\nhttp:\n  port: 99999\n');
    const { io: cli, out } = io({});
    expect(await runApproval(['--config', file], cli)).toBe(2);
    expect(out.stderr).toContain('kafka.brokers.0: expected host:port');
    expect(out.stderr).toContain('oidc.issuer');
    expect(out.stderr).toContain('oidc.audience');
    expect(out.stderr).toContain('http.port');
    expect(await runApproval([], cli)).toBe(2);
  });

  it('runs as a process from YAML, becomes ready, and drains on SIGTERM with exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-approval-'));
    const file = join(dir, 'approval.yaml');
    const health = await freePort();
    writeFileSync(
      file,
      [
        'instanceId: approval-cli-test',
        'logLevel: warn',
        // JSON is YAML: brokers and this service's own credentials (a password file, never inline).
        `kafka: ${JSON.stringify({
          ...kafkaConnection('approval'),
          topics: {
            approvals: topic,
            approvalRequests: await ensureApprovalRequestsTopic(topic),
            provision: false,
          },
        })}`,
        `relay: { groupId: test-relay-cli-${topic} }`,
        'oidc:',
        `  issuer: ${idp.issuer}`,
        `  audience: ${AUDIENCE}`,
        `signing: { keyId: ${testSigningKey().keyId}, privateKey: { file: ${testSigningKey().privateKeyFile} } }`,
        'http: { port: 0 }',
        'grpc: { port: 0 }',
        `health: { port: ${health} }`,
        'publicUrl: https://approvals.example.test',
        'webhooks: []',
        '',
      ].join('\n'),
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./services/approval/main.ts').then((m) => m.runApproval(['--config', ${JSON.stringify(file)}]))`,
      ],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let ready = false;
      for (let i = 0; i < 300 && !ready; i++) {
        ready = await fetch(`http://127.0.0.1:${health}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (!ready) await sleep(100);
      }
      expect(ready, output).toBe(true);
      child.kill('SIGTERM');
      expect(await exited, output).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
