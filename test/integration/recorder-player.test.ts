import { mkdtempSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../services/recorder/cli/cli-io.js';
import { runReplay } from '../../services/recorder/cli/run-replay.js';
import { parseRecorderConfig } from '../../services/recorder/config.js';
import { startRecorder } from '../../services/recorder/recorder.js';
import type { RecordedEvent } from '../../services/recorder/replay/recorded-event.js';
import { postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { sshShellScenario } from '../../dev/recorder-fixtures/ssh-scenario.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import { recorderClickHouse, testDatabase } from '../support/clickhouse.js';
import { testLogger, uniqueTopic } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { publishAll } from '../support/recorded-scenario.js';
import { kafkaConnection } from '../support/stack.js';
import { startRecorderAuth } from '../support/recorder-auth.js';
import type { RecorderAuth } from '../support/recorder-auth.js';
import { chromiumSkipReason, launchChromium } from '../support/chromium.js';
import { captureCliIo } from '../support/cli-capture.js';

/**
 * An SSH shell session published to Kafka the way the gateway does, recorded into ClickHouse by an in-process
 * recorder, and played back: the asciicast API, `gatehouse replay --format asciicast`, and the web UI's
 * asciinema-player in headless Chromium.
 */

if (chromiumSkipReason) console.warn(`recorder-player.test.ts: browser test skipped: ${chromiumSkipReason}`);

/** Recorded output that would run script if any layer put it into the page as markup. */
const HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

const cleanups: (() => Promise<unknown>)[] = [];
let auth: RecorderAuth;
beforeAll(async () => {
  auth = await startRecorderAuth();
  cleanups.push(() => auth.idp.stop());
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function cliIo(): CliIo & { out: string[]; err: string[] } {
  return captureCliIo({ GATEHOUSE_TOKEN: auth.token });
}

function outputOf(cast: string): string {
  return cast
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as [number, string, string])
    .filter((e) => e[1] === 'o')
    .map((e) => e[2])
    .join('');
}

describe('recorder: SSH session → ClickHouse → asciicast and the web player', () => {
  const sshId = `ssh-${randomUUID()}`;
  const pgId = `pg-${randomUUID()}`;
  const ssh = sshShellScenario({
    sessionId: sshId,
    startMicros: BigInt(Date.now() - 60_000) * 1000n,
    extraOutput: [`${HOSTILE}\r\n`],
  });
  const pg = postgresScenario({ sessionId: pgId, rows: 3 });
  let base = '';

  beforeAll(async () => {
    const db = await testDatabase();
    cleanups.push(db.drop);
    const topics = {
      sessions: await uniqueTopic('player-sessions', 3),
      approvals: await uniqueTopic('player-approvals', 3),
    };
    const records = [...ssh.events, ...pg].map((e) => ({
      topic: topics.sessions,
      key: e.sessionId,
      value: Buffer.from(encodeEvent(e)),
    }));
    await publishAll(records);
    const recorder = await startRecorder(
      parseRecorderConfig({
        nodeId: 'rec-player-test',
        groupId: `test-recorder-player-${randomUUID().slice(0, 8)}`,
        kafka: { ...kafkaConnection('recorder'), topics: { ...topics, provision: false } },
        clickhouse: recorderClickHouse(db.opts),
        consumer: { sessionTimeoutMs: 10_000 },
        batch: { maxRows: 100, maxDelayMs: 100, retryMinMs: 50, retryMaxMs: 500 },
        http: { port: 0 },
        health: { port: 0 },
        retentionDays: 0,
        api: auth.api,
      }),
      testLogger,
    );
    cleanups.push(() => recorder.stop());
    base = `http://127.0.0.1:${recorder.httpPort}`;
    for (const [id, count] of [
      [sshId, ssh.events.length],
      [pgId, pg.length],
    ] as const) {
      await waitFor(
        `${id} recorded`,
        async () => {
          const res = await auth.get(`${base}/v1/sessions/${id}/events?limit=10000`);
          return res.ok ? ((await res.json()) as { events: RecordedEvent[] }).events.length : 0;
        },
        (n) => n === count,
      );
      await waitFor(
        `${id} summary`,
        async () => (await auth.get(`${base}/v1/sessions/${id}`)).status,
        (s) => s === 200,
      );
    }
  }, 120_000);

  it('serves the shell as asciicast v2 whose output is exactly the recorded terminal bytes', async () => {
    const res = await auth.get(`${base}/v1/sessions/${sshId}/asciicast`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-asciicast/);
    const cast = await res.text();
    expect(JSON.parse(cast.split('\n')[0]!)).toMatchObject({
      version: 2,
      width: 100,
      height: 30,
      env: { TERM: 'xterm-256color' },
    });
    expect(Buffer.from(outputOf(cast))).toEqual(ssh.output);
    expect(cast).toContain('[0.');
    expect(cast.split('\n').filter((l) => l.includes('"r"'))).toHaveLength(1);

    const none = await auth.get(`${base}/v1/sessions/${pgId}/asciicast`);
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ error: { code: 'GH_ERR_NO_TERMINAL_OUTPUT' } });
    expect((await auth.get(`${base}/v1/sessions/nope-${randomUUID()}/asciicast`)).status).toBe(404);
  });

  it('`gatehouse replay --format asciicast` prints (or writes) the same recording', async () => {
    const api = await (await auth.get(`${base}/v1/sessions/${sshId}/asciicast`)).text();
    const io = cliIo();
    expect(await runReplay([sshId, '--format', 'asciicast', '--recorder', base], io)).toBe(0);
    expect(io.err).toEqual([]);
    expect(io.out.join('')).toBe(api);
    expect(Buffer.from(outputOf(io.out.join('')))).toEqual(ssh.output);

    const file = join(mkdtempSync(join(tmpdir(), 'gh-player-')), 'session.cast');
    const toFile = cliIo();
    expect(
      await runReplay([sshId, '--format', 'asciicast', '--output', file, '--recorder', base], toFile),
    ).toBe(0);
    expect(toFile.out).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe(api);

    const pgIo = cliIo();
    expect(await runReplay([pgId, '--format', 'asciicast', '--recorder', base], pgIo)).toBe(1);
    expect(pgIo.err.join('')).toBe('gatehouse: the session recorded no terminal output\n');
  });

  it('serves the web pages with escaped recorded data', async () => {
    const list = await auth.get(`${base}/`);
    expect(list.status).toBe(200);
    const html = await list.text();
    expect(html).toContain(`href="/sessions/${sshId}"`);
    expect(html).toContain(`href="/sessions/${pgId}"`);
    const page = await (await auth.get(`${base}/sessions/${sshId}`)).text();
    expect(page).toContain(`data-src="/v1/sessions/${sshId}/asciicast"`);
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<script>window');
    const sql = await (await auth.get(`${base}/sessions/${pgId}`)).text();
    expect(sql).toContain('SELECT id, name FROM users ORDER BY id');
    expect(sql).not.toContain('id="player"');
  });

  it.skipIf(chromiumSkipReason !== undefined)(
    'plays the recording in headless Chromium with asciinema-player',
    async () => {
      const browser = await launchChromium();
      cleanups.push(() => browser.close());
      // The login flow itself is tested in web-login.test.ts; here the API token rides along as a header.
      const context = await browser.newContext({
        extraHTTPHeaders: { authorization: `Bearer ${auth.token}` },
      });
      cleanups.push(() => context.close());
      const page = await context.newPage();
      const errors: string[] = [];
      const external: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('response', (r) => {
        if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
      });
      page.on('request', (r) => {
        if (!r.url().startsWith(base) && !r.url().startsWith('data:')) external.push(r.url());
      });

      await page.goto(`${base}/`);
      await page.click(`a[href="/sessions/${sshId}"]`);
      await page.waitForURL(`${base}/sessions/${sshId}`);
      await page.locator('#player .ap-term').waitFor({ timeout: 15_000 });
      const bigPlay = page.locator('#player .ap-play-button');
      if (await bigPlay.isVisible()) await bigPlay.click();
      else await page.locator('#player .ap-playback-button').click();
      const term = page.locator('#player pre.ap-term-text');
      await term.filter({ hasText: 'notes.txt' }).waitFor({ timeout: 20_000 });
      await term.filter({ hasText: 'logout' }).waitFor({ timeout: 20_000 });
      const shown = await term.innerText();
      expect(shown).toContain('Welcome to web-1');
      expect(shown).toContain('café');
      expect(shown).toContain('onerror="window.__xss=1"'); // shown as text, never run
      expect(await page.evaluate('window.__xss')).toBeUndefined();
      expect(await page.locator('#player img').count()).toBe(0);
      expect(errors).toEqual([]);
      expect(external).toEqual([]);
    },
    60_000,
  );
});
