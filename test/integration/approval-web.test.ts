import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApprovalService } from '../../services/approval/service.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import {
  approvalTestConfig,
  ddlRequest,
  folded,
  startTestApprovalService,
  startTestIdp,
  startTestWaiter,
} from '../support/approval.js';
import { uniqueTopic } from '../support/kafka.js';
import { chromiumSkipReason, launchChromium } from '../support/chromium.js';

if (chromiumSkipReason) console.warn(`approval-web.test.ts skipped: ${chromiumSkipReason}`);

const HOSTILE_SQL =
  'DROP TABLE "x"; -- </pre><script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> & &amp;';

describe.skipIf(chromiumSkipReason !== undefined)('reviewer web page (headless Chromium)', () => {
  let idp: RunningIdp;
  let service: RunningApprovalService;
  let gw: Awaited<ReturnType<typeof startTestWaiter>>;
  let browser: Browser;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    idp = await startTestIdp();
    cleanups.push(() => idp.stop());
    const topic = await uniqueTopic('approvals-web');
    service = await startTestApprovalService(approvalTestConfig({ topic, idp }));
    cleanups.push(() => service.stop({ timeoutMs: 3_000 }));
    gw = await startTestWaiter({ topic, approvalUrl: service.url });
    cleanups.push(() => gw.stop());
    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('shows pending requests safely, updates live, approves and rejects with a reason', async () => {
    const first = gw.waiter.request(ddlRequest({ requestText: HOSTILE_SQL }));
    await folded(service, first.approvalId);
    const token = await idp.issueToken({ user: 'bob', groups: ['dba'], email: 'bob@example.test' });

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const response = await page.goto(`${service.url}/approvals/${first.approvalId}`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.fill('#token', token);
    await page.click('#token-save');

    const card = page.locator(`[data-approval-id="${first.approvalId}"]`);
    await card.waitFor({ timeout: 15_000 });
    expect(await card.locator('[data-field="statement"]').textContent()).toBe(HOSTILE_SQL);
    expect(await card.locator('[data-field="state"]').textContent()).toBe('pending');
    expect(await card.textContent()).toContain('alice@example.test (AI agent)');
    expect(await card.textContent()).toContain('DDL on connection demo-pg requires approval by dba');
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.evaluate("sessionStorage.getItem('gatehouse.approvals.token')")).toBe(token);
    expect(await page.inputValue('#token')).toBe('');
    await page.locator('#live.on').waitFor({ timeout: 10_000 });

    // a new request shows up without a reload (server-sent events)
    const second = gw.waiter.request(ddlRequest({ requestText: 'DROP TABLE sessions_old' }));
    const secondCard = page.locator(`[data-approval-id="${second.approvalId}"]`);
    await secondCard.waitFor({ timeout: 15_000 });

    await card.locator('[data-action="approve"]').click();
    await card.locator('[data-field="state"]', { hasText: 'approved' }).waitFor({ timeout: 15_000 });
    const outcome = await first.outcome;
    expect(outcome).toMatchObject({ outcome: 'approved' });
    expect(outcome.reviewer?.sub).toBe('bob');

    // rejecting without a reason is stopped in the page; with one it goes through
    await secondCard.locator('[data-action="reject"]').click();
    expect(await page.textContent('#message')).toBe('A rejection requires a reason.');
    await secondCard.locator('[data-field="reason"]').fill('keep it for the audit');
    await secondCard.locator('[data-action="reject"]').click();
    const rejected = await second.outcome;
    expect(rejected).toMatchObject({ outcome: 'rejected', reason: 'keep it for the audit' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('tells a reviewer with a bad token why nothing is shown', async () => {
    const page = await browser.newPage();
    await page.goto(service.url);
    await page.fill('#token', 'not-a-token');
    await page.click('#token-save');
    await page.locator('#message', { hasText: 'Your token was not accepted' }).waitFor({ timeout: 10_000 });
    await page.close();
  });
});
