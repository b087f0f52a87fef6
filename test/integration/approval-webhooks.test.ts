import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApprovalService } from '../../services/approval/service.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import {
  api,
  approvalTestConfig,
  ddlRequest,
  eventually,
  folded,
  startTestApprovalService,
  startTestIdp,
  startTestWaiter,
} from '../support/approval.js';
import { uniqueTopic } from '../support/kafka.js';

type Hit = { path: string; body: { text: string }; at: number };

let idp: RunningIdp;
let service: RunningApprovalService;
let gw: Awaited<ReturnType<typeof startTestWaiter>>;
let hookBase: string;
const hits: Hit[] = [];
let failuresLeft = 1;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  // A local Slack stand-in: the first POST fails with 500 (to exercise the retry), '/hang' never answers.
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/hang') return; // never answers: the notifier's timeout must cut it
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end('try later');
        return;
      }
      hits.push({
        path: req.url ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string },
        at: Date.now(),
      });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  hookBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  idp = await startTestIdp();
  cleanups.push(() => idp.stop());
  const topic = await uniqueTopic('approvals-notify');
  service = await startTestApprovalService(
    approvalTestConfig({
      topic,
      idp,
      webhooks: [
        { group: 'dba', url: `${hookBase}/dba` },
        { group: 'dba', url: `${hookBase}/hang` },
        { group: 'secops', url: `${hookBase}/secops` },
        { group: '*', url: `${hookBase}/all` },
      ],
      notify: { timeoutMs: 1_000, backoffMs: 100, maxAttempts: 4 },
    }),
  );
  cleanups.push(() => service.stop({ timeoutMs: 3_000 }));
  await service.notifyJoined;
  gw = await startTestWaiter({ topic, approvalUrl: 'https://approvals.example.test' });
  cleanups.push(() => gw.stop());
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('webhook notifications', () => {
  it('announces new requests and outcomes to the approver groups, escaped, retried, without blocking decisions', async () => {
    const sql = 'DROP TABLE "<@channel>"; -- <script>alert(1)</script> ``` & more';
    const pending = gw.waiter.request(ddlRequest({ requestText: sql }));
    await folded(service, pending.approvalId);

    const requested = await eventually(
      () => hits.find((h) => h.path === '/dba' && h.body.text.includes(pending.approvalId)),
      15_000,
      'the request notification',
    );
    expect(requested.body.text).toContain('*Approval needed* from dba (1 approval)');
    expect(requested.body.text).toContain('alice@example.test (AI agent)');
    expect(requested.body.text).toContain('demo-pg (postgres)');
    expect(requested.body.text).toContain('DDL on connection demo-pg requires approval by dba');
    expect(requested.body.text).toContain(`https://approvals.example.test/approvals/${pending.approvalId}`);
    expect(requested.body.text).toContain('&lt;@channel&gt;');
    expect(requested.body.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(requested.body.text).toContain("''' &amp; more");
    expect(requested.body.text).not.toContain('<script>');
    expect(failuresLeft).toBe(0); // one POST failed with 500 and was retried

    const token = await idp.issueToken({ user: 'bob', groups: ['dba'], email: 'bob@example.test' });
    const started = Date.now();
    const res = await api(service.url, 'POST', `/v1/approvals/${pending.approvalId}/approve`, token, {
      reason: 'ok <b>',
    });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000); // the hanging webhook never holds up a decision
    expect((await pending.outcome).outcome).toBe('approved');

    const decided = await eventually(
      () => hits.find((h) => h.path === '/dba' && h.body.text.includes('*approved*')),
      15_000,
      'the outcome notification',
    );
    expect(decided.body.text).toContain('*approved* by bob@example.test: ok &lt;b&gt;');
    await eventually(
      () => (hits.filter((h) => h.path === '/all').length >= 2 ? true : undefined),
      15_000,
      "'*' hook",
    );
    expect(hits.some((h) => h.path === '/secops')).toBe(false);

    const metrics = await (await fetch(`http://127.0.0.1:${service.healthPort}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_approval_notifications_total\{result="retried"\} [1-9]/);
    expect(metrics).toMatch(/gatehouse_approval_notifications_total\{result="sent"\} [1-9]/);
  });
});
