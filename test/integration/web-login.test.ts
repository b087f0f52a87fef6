import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import { parseRecorderConfig } from '../../services/recorder/config.js';
import { startRecorder } from '../../services/recorder/recorder.js';
import { postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import {
  approvalTestConfig,
  ddlRequest,
  folded,
  startTestApprovalService,
  startTestWaiter,
} from '../support/approval.js';
import { recorderClickHouse, testDatabase } from '../support/clickhouse.js';
import { testKafka, testLogger, uniqueTopic } from '../support/kafka.js';
import { kafkaConnection } from '../support/stack.js';
import { chromiumSkipReason, launchChromium } from '../support/chromium.js';

/** Logs in at the dev IdP's login form (any password) and grants consent, if asked. */
async function loginAtIdp(page: Page, idp: RunningIdp, user: string): Promise<void> {
  await page.waitForURL((u) => u.href.startsWith(idp.issuer), { timeout: 15_000 });
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', 'anything');
  await page.click('button[type="submit"]');
  const consent = page.locator('button[autofocus]', { hasText: 'Continue' });
  await page.waitForLoadState();
  if (page.url().startsWith(idp.issuer) && (await consent.count()) > 0) await consent.click();
}

describe.skipIf(chromiumSkipReason !== undefined)('web login (OIDC code + PKCE) in Chromium', () => {
  let idp: RunningIdp;
  let approval: RunningApprovalService;
  let gw: Awaited<ReturnType<typeof startTestWaiter>>;
  let recorderUrl: string;
  let browser: Browser;
  const sessionId = `pg-${randomUUID()}`;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    idp = await startIdp({
      port: 0,
      audience: 'gatehouse',
      users: {
        sam: { email: 'sam@example.com', groups: ['soc'] },
        dora: { email: 'dora@example.com', groups: ['dba'] },
      },
    });
    cleanups.push(() => idp.stop());
    const approvals = await uniqueTopic('web-login-approvals');
    approval = await startTestApprovalService(
      approvalTestConfig({ topic: approvals, idp, web: { sessionTtlSeconds: 600 } }),
    );
    cleanups.push(() => approval.stop({ timeoutMs: 3_000 }));
    gw = await startTestWaiter({ topic: approvals, approvalUrl: approval.url });
    cleanups.push(() => gw.stop());

    const db = await testDatabase();
    cleanups.push(db.drop);
    const topics = { sessions: await uniqueTopic('web-login-sessions'), approvals };
    const publisher = new KafkaPublisher(testKafka('web-login-test'), testLogger, {
      lingerMs: 5,
      durableTimeoutMs: 60_000,
    });
    publisher.start();
    const records = postgresScenario({ sessionId, rows: 2 }).map((e) => ({
      topic: topics.sessions,
      key: e.sessionId,
      value: Buffer.from(encodeEvent(e)),
    }));
    for (const r of records.slice(0, -1)) publisher.publishBatched(r);
    await publisher.publishDurable(records.at(-1)!);
    await publisher.close(10_000);
    const recorder = await startRecorder(
      parseRecorderConfig({
        nodeId: 'rec-web-login',
        groupId: `test-web-login-${randomUUID().slice(0, 8)}`,
        kafka: { ...kafkaConnection('recorder'), topics: { ...topics, provision: false } },
        clickhouse: recorderClickHouse(db.opts),
        batch: { maxRows: 100, maxDelayMs: 100 },
        http: { port: 0 },
        health: { port: 0 },
        retentionDays: 0,
        api: { oidc: { issuer: idp.issuer, audience: 'gatehouse' }, web: {} },
      }),
      testLogger,
    );
    cleanups.push(() => recorder.stop());
    recorderUrl = `http://127.0.0.1:${recorder.httpPort}`;
    browser = await launchChromium();
    cleanups.push(() => browser.close());
  }, 120_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('an analyst logs in at the IdP and lands on the recorder player; the cookie is HttpOnly and SameSite=Strict', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${recorderUrl}/sessions/${sessionId}`);
    await loginAtIdp(page, idp, 'sam');
    await page.waitForURL(`${recorderUrl}/sessions/${sessionId}`, { timeout: 15_000 });
    // The session may still be on its way to ClickHouse: reload until the page shows it.
    for (let i = 0; i < 50 && !(await page.content()).includes('SELECT id, name FROM users'); i++) {
      await page.waitForTimeout(300);
      await page.reload();
    }
    expect(await page.content()).toContain('SELECT id, name FROM users ORDER BY id');
    const cookies = await context.cookies(recorderUrl);
    const session = cookies.find((c) => c.name === 'gh_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(session!.expires - Date.now() / 1000).toBeLessThanOrEqual(8 * 3600 + 5);
    expect(session!.value).not.toMatch(/^ey/); // an opaque id, never a token
    // The API answers the browser's session too (same origin).
    const api = await page.evaluate(async (id) => (await fetch(`/v1/sessions/${id}`)).status, sessionId);
    expect(api).toBe(200);
    // A forged cookie gets nothing.
    const forged = await fetch(`${recorderUrl}/v1/sessions`, {
      headers: { cookie: `gh_session=${session!.value.slice(0, -4)}AAAA` },
    });
    expect(forged.status).toBe(401);
    await context.close();
  });

  it('someone outside the allowed groups is refused by the recorder after login (403)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${recorderUrl}/`);
    await loginAtIdp(page, idp, 'dora');
    await page.waitForURL(`${recorderUrl}/`, { timeout: 15_000 });
    expect(await page.content()).toContain('GH_ERR_FORBIDDEN');
    expect(await page.content()).not.toContain(sessionId);
    await context.close();
  });

  it('a reviewer logs in and lands on the approval page; her identity comes from the session', async () => {
    const pending = gw.waiter.request(
      ddlRequest({ requestText: 'ALTER TABLE accounts ADD COLUMN note text' }),
    );
    await folded(approval, pending.approvalId);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${approval.url}/approvals/${pending.approvalId}`);
    await loginAtIdp(page, idp, 'dora');
    await page.waitForURL(`${approval.url}/approvals/${pending.approvalId}`, { timeout: 15_000 });
    await page.locator('#whoami', { hasText: 'signed in as dora@example.com' }).waitFor({ timeout: 10_000 });
    const card = page.locator(`[data-approval-id="${pending.approvalId}"]`);
    await card.waitFor({ timeout: 15_000 });
    expect(await page.evaluate("sessionStorage.getItem('gatehouse.approvals.token')")).toBeNull();
    await card.locator('[data-action="approve"]').click();
    const outcome = await pending.outcome;
    expect(outcome).toMatchObject({ outcome: 'approved' });
    expect(outcome.reviewer?.sub).toBe('dora');
    const cookie = (await context.cookies(approval.url)).find((c) => c.name === 'gh_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // Without the page's header a cookie alone cannot approve (no cross-site form posts).
    const bare = await fetch(`${approval.url}/v1/approvals/${pending.approvalId}/reject`, {
      method: 'POST',
      headers: { cookie: `gh_session=${cookie!.value}` },
    });
    expect(bare.status).toBe(401);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a login callback that did not start here is refused', async () => {
    const res = await fetch(`${approval.url}/auth/callback?code=abc&state=forged`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'GH_ERR_WEB_LOGIN_FAILED' } });
    const login = await fetch(`${recorderUrl}/auth/login?return_to=//evil.example/x`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const to = new URL(login.headers.get('location')!);
    expect(to.origin).toBe(new URL(idp.issuer).origin);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('client_id')).toBe('gatehouse-web');
  });
});
