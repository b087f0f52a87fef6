import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../services/recorder/cli/cli-io.js';
import { runReplay } from '../../services/recorder/cli/run-replay.js';
import { runSessions } from '../../services/recorder/cli/run-sessions.js';
import { runTimeline } from '../../services/recorder/cli/run-timeline.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import type { RecordedEvent } from '../../services/recorder/replay/recorded-event.js';
import type { TimelineResponse } from '../../services/recorder/replay/timeline-entry.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quoteString, trustedStatement } from '../../services/recorder/clickhouse/quote.js';
import { chromiumSkipReason, launchChromium } from '../support/chromium.js';
import { captureCliIo } from '../support/cli-capture.js';
import { testDatabase } from '../support/clickhouse.js';
import { psql } from '../support/clients.js';
import { startFixtureRecorder } from '../support/gateway.js';
import { startSocGatewayFixture } from '../support/soc-gateway.js';
import type { SocGatewayFixture } from '../support/soc-gateway.js';
import { runSsh } from '../support/ssh-gateway.js';
import { PROJECT_ROOT } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

/**
 * One agent uses every protocol through one gateway node — SQL, an SSH command, MCP tool calls, HTTP calls — and a
 * recorder writes it all to ClickHouse; `gatehouse timeline` shows those requests in order with their decisions
 * (nobody else's), and `gatehouse replay` and the web page show the HTTP and MCP transcripts.
 */

if (chromiumSkipReason) console.warn(`soc-timeline.test.ts: browser test skipped: ${chromiumSkipReason}`);

let fx: SocGatewayFixture;
let db: Awaited<ReturnType<typeof testDatabase>>;
let recorder: Recorder;
let base = '';
let soc = '';
const run = Math.random().toString(36).slice(2, 8);
const AGENT = `soc-agent-${run}`;
const OTHER = `soc-other-${run}`;
/** A request body that would run script if any layer put it into a page as markup. */
const HOSTILE_BODY = '<img src=x onerror="window.__xss=1">';

/** What the agent does, in this order: [protocol, request kind, decision, request text]. */
const EXPECTED: [string, string, string, string][] = [
  ['postgres', 'sql', 'allow', 'select id from customers order by id limit 1'],
  ['postgres', 'sql', 'deny', 'delete from customers'],
  ['ssh', 'ssh.exec', 'allow', 'uname -s'],
  ['mcp', 'mcp.server/discover', 'allow', 'server/discover'],
  ['mcp', 'mcp.tools/call', 'allow', 'tools/call list_customers {"limit":1}'],
  ['mcp', 'mcp.tools/call', 'deny', 'tools/call delete_customer {"id":2}'],
  ['http', 'http.GET', 'allow', 'GET /customers'],
  ['http', 'http.DELETE', 'deny', 'DELETE /customers/1'],
  ['http', 'http.POST', 'deny', `POST /upload body: ${HOSTILE_BODY}`],
  // A valid token for a connection that does not exist: the refused login is recorded with its verified identity.
  ['postgres', 'login', 'refused', 'login refused: unknown_connection'],
];
/** The entries that are requests (the README's query lists requests, not refused logins). */
const REQUESTS = EXPECTED.filter(([, kind]) => kind !== 'login');

async function cli(
  command: (argv: string[], io: CliIo) => Promise<number>,
  argv: string[],
): Promise<{ code: number; out: string; err: string }> {
  const io = captureCliIo({ GATEHOUSE_TOKEN: soc, GATEHOUSE_RECORDER_URL: base });
  const code = await command(argv, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

async function timeline(argv: string[]): Promise<TimelineResponse> {
  const r = await cli(runTimeline, [...argv, '--format', 'json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as TimelineResponse;
}

async function mcpCalls(token: string): Promise<void> {
  const client = new Client(
    { name: 'soc-test', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(fx.mcpEndpoint), {
      authProvider: { token: () => Promise.resolve(token) },
    }),
  );
  await client.callTool({ name: 'list_customers', arguments: { limit: 1 } });
  await client.callTool({ name: 'delete_customer', arguments: { id: 2 } }).catch(() => undefined);
  await client.close();
}

async function http(token: string, method: string, path: string, body?: string): Promise<number> {
  const res = await fetch(`${fx.httpBase}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
    ...(body === undefined ? {} : { body }),
  });
  await res.text();
  return res.status;
}

beforeAll(async () => {
  fx = await startSocGatewayFixture();
  db = await testDatabase('gatehouse_soc');
  recorder = await startFixtureRecorder(fx, 'soc', db.opts);
  base = `http://127.0.0.1:${recorder.httpPort}`;
  soc = await fx.idp.issueToken({ user: `analyst-${run}`, groups: ['soc'] });
  const agent = await fx.idp.issueToken({ user: AGENT, agent: true, groups: ['agents'] });
  const other = await fx.idp.issueToken({ user: OTHER, agent: true, groups: ['agents'] });

  const sqlRun = await psql(fx.pgPort, 'demo-pg', agent, [
    'select id from customers order by id limit 1',
    'delete from customers',
  ]);
  expect(sqlRun.stderr).toMatch(/42501/);
  expect((await runSsh(fx.sshPort, 'demo-ssh', agent, ['uname', '-s'])).status).toBe(0);
  await mcpCalls(agent);
  expect(await http(agent, 'GET', '/customers')).toBe(200);
  expect(await http(agent, 'DELETE', '/customers/1')).toBe(403);
  expect(await http(agent, 'POST', '/upload', HOSTILE_BODY)).toBe(403);
  expect((await psql(fx.pgPort, 'no-such-db', agent, ['select 3'])).stderr).toMatch(
    /connection "no-such-db" does not exist/,
  );
  expect((await psql(fx.pgPort, 'demo-pg', other, ['select 2'])).status).toBe(0);

  await waitFor(
    "both identities' requests recorded",
    async () => {
      const [a, o] = await Promise.all([
        timeline(['--identity', AGENT, '--since', '10m']),
        timeline(['--identity', OTHER, '--since', '10m']),
      ]);
      return [a.entries.filter((e) => e.decision !== '').length, o.entries.length];
    },
    ([a, o]) => a === EXPECTED.length && o === 1,
  );
}, 180_000);

afterAll(async () => {
  await recorder?.stop();
  await fx?.stop();
  await db?.drop();
});

describe('gatehouse timeline', () => {
  it("lists one identity's SQL, SSH, MCP and HTTP requests in order, with their decisions", async () => {
    const t = await timeline(['--identity', AGENT, '--since', '10m']);
    expect(t.truncated).toBe(false);
    expect(t.entries.map((e) => [e.protocol, e.requestKind, e.decision, e.text])).toEqual(EXPECTED);
    const at = t.entries.map((e) => e.atMicros);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    for (const e of t.entries) {
      expect(e.identity.sub).toBe(AGENT);
      const connection =
        e.requestKind === 'login' ? 'no-such-db' : `demo-${e.protocol === 'postgres' ? 'pg' : e.protocol}`;
      expect(e.connection).toBe(connection);
      expect(e.reasons.length).toBeGreaterThan(0);
    }
    expect(t.entries[1]!.reasons.join(' ')).toMatch(/agents are read-only/);
    expect(t.entries[5]!.reasons).toEqual(['tool delete_customer is denied for agents']);
    // The raw request text is there too (bounded), for tools: the MCP message as sent.
    expect(JSON.parse(t.entries[4]!.statement)).toMatchObject({ params: { name: 'list_customers' } });

    const text = await cli(runTimeline, ['--identity', AGENT]);
    expect(text.code).toBe(0);
    const lines = text.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+PROTOCOL\s+CONNECTION\s+SESSION\s+REQ\s+KIND\s+DECISION\s+REQUEST$/);
    expect(lines).toHaveLength(EXPECTED.length + 1);
    expect(lines[6]).toMatch(
      /mcp\s+demo-mcp\s+\S+\s+3\s+mcp\.tools\/call\s+deny\s+tools\/call delete_customer \{"id":2\} — tool delete_customer is denied for agents$/,
    );
    expect(text.out).not.toContain('\u001b');
  });

  it('`gatehouse sessions` lists the MCP and HTTP sessions with the same columns as SQL and SSH', async () => {
    const r = await cli(runSessions, ['--identity', AGENT, '--since', '10m', '--format', 'json']);
    expect(r.code).toBe(0);
    const sessions = (
      JSON.parse(r.out) as { sessions: { protocol: string; connection: string; denied: number }[] }
    ).sessions;
    expect(new Set(sessions.map((s) => s.protocol))).toEqual(new Set(['postgres', 'ssh', 'mcp', 'http']));
    for (const s of sessions) expect(s.connection).toMatch(/^demo-|^no-such-db$/);
    const denied = (p: string) => sessions.filter((s) => s.protocol === p).reduce((n, s) => n + s.denied, 0);
    expect([denied('postgres'), denied('ssh'), denied('mcp'), denied('http')]).toEqual([1, 0, 1, 2]);
  });

  it("never shows another identity's requests, and narrows by protocol, connection and limit", async () => {
    const mine = await timeline(['--identity', AGENT, '--since', '10m']);
    const theirs = await timeline(['--identity', OTHER, '--since', '10m']);
    expect(theirs.entries.map((e) => [e.protocol, e.text, e.decision])).toEqual([
      ['postgres', 'select 2', 'allow'],
    ]);
    const theirSessions = new Set(theirs.entries.map((e) => e.sessionId));
    expect(mine.entries.some((e) => theirSessions.has(e.sessionId))).toBe(false);

    const onlyHttp = await timeline(['--identity', AGENT, '--protocol', 'http']);
    expect(onlyHttp.entries.map((e) => e.requestKind)).toEqual(['http.GET', 'http.DELETE', 'http.POST']);
    const onlySsh = await timeline(['--identity', AGENT, '--connection', 'demo-ssh']);
    expect(onlySsh.entries.map((e) => e.text)).toEqual(['uname -s']);
    const two = await timeline(['--identity', AGENT, '--limit', '2']);
    expect(two.entries.map((e) => e.text)).toEqual([EXPECTED[0]![3], EXPECTED[1]![3]]);
    expect(two.truncated).toBe(true);
    const past = await timeline(['--identity', AGENT, '--since', '2h', '--until', '1h']);
    expect(past.entries).toEqual([]);
  });

  it('treats adversarial identities as plain values and refuses bad arguments (exit 2)', async () => {
    for (const identity of [
      `soc-agent-%`,
      '%',
      `' OR '1'='1`,
      `${AGENT}' OR identity_sub != '`,
      `\\' OR 1=1 -- `,
      `${AGENT}\u0000`,
    ]) {
      const t = await timeline(['--identity', identity, '--since', '1d']);
      expect(t.entries, identity).toEqual([]);
    }
    const bad = [
      [['--since', '1h'], /--identity: a subject or email is required/],
      [['--identity', AGENT, '--since', 'yesterday'], /--since: expected a duration/],
      [['--identity', AGENT, '--until', 'later'], /--until: expected a duration/],
      [['--identity', AGENT, '--limit', '100000000'], /--limit: an integer from 1 to 1000/],
      [['--identity', AGENT, '--limit', '1e3'], /--limit: an integer/],
      [['--identity', AGENT, '--protocol', 'smtp'], /--protocol: one of postgres, ssh, mcp, http/],
      [['--identity', AGENT, '--since', '1h', '--until', '2h'], /--since must be before --until/],
      [['--identity', AGENT, '--bogus'], /Unknown option '--bogus'/],
    ] as const;
    for (const [argv, message] of bad) {
      const r = await cli(runTimeline, [...argv]);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toContain('usage: gatehouse timeline');
      expect(r.out).toBe('');
    }
    // The API bounds what the CLI does not (another client).
    const auth = { authorization: `Bearer ${soc}` };
    const huge = await fetch(`${base}/v1/timeline?identity=x&from=0&limit=100000000`, { headers: auth });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('GH_ERR_BAD_REQUEST');
    expect((await fetch(`${base}/v1/timeline?identity=x`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${base}/v1/timeline?identity=x&from=0`)).status).toBe(401);
    const agentToken = await fx.idp.issueToken({ user: AGENT, agent: true, groups: ['agents'] });
    const forbidden = await fetch(`${base}/v1/timeline?identity=${AGENT}&from=0`, {
      headers: { authorization: `Bearer ${agentToken}` },
    });
    expect(forbidden.status).toBe(403);
  });
});

describe('the cross-protocol query in README.md', () => {
  it('returns the same requests, protocols and decisions as the timeline', async () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf("One identity's timeline across protocols"));
    const query = /```sql\n([\s\S]*?)```/.exec(section)![1]!;
    const rows = await db.ch.query<{ protocol: string; request_kind: string; verdict: string }>(
      trustedStatement(
        query.replaceAll("'agent-1'", quoteString(AGENT)).replaceAll('gatehouse.', `${db.opts.database}.`),
      ),
    );
    expect(rows.map((r) => [r.protocol, r.request_kind, r.verdict])).toEqual(
      REQUESTS.map(([p, k, d]) => [p, k, d]),
    );
  });
});

describe('HTTP and MCP transcripts', () => {
  async function sessionsOf(protocol: string): Promise<string[]> {
    const t = await timeline(['--identity', AGENT, '--protocol', protocol]);
    return [...new Set(t.entries.map((e) => e.sessionId))];
  }

  it('`gatehouse replay` shows each HTTP call: method, path, status, decision, masked body', async () => {
    const ids = await sessionsOf('http');
    expect(ids.length).toBeGreaterThan(0);
    let text = '';
    const requests: string[] = [];
    for (const id of ids) {
      const r = await cli(runReplay, [id]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Session ${id} (http, connection demo-http)`);
      text += r.out;
      const json = await cli(runReplay, [id, '--format', 'json']);
      const events = (JSON.parse(json.out) as { events: RecordedEvent[] }).events;
      requests.push(...events.filter((e) => e.kind === 'request').map((e) => e.requestKind));
      const head = events.find((e) => e.frame === 'http.head');
      if (head) expect(head).toMatchObject({ code: '200', protocol: 'http' });
    }
    expect(requests.sort()).toEqual(['http.DELETE', 'http.GET', 'http.POST']);
    expect(text).toMatch(/#1 http\.GET @ .*\n> GET \/customers\n\[\+[\d.]+ ms\] decision: ALLOW/);
    expect(text).toMatch(/\] HTTP 200\n {2}content-type: application\/json/);
    expect(text).toMatch(/\] body \(\d+ bytes\):\n {2}\{\n {4}"customers": \[/);
    expect(text).toContain('"email": "***"');
    expect(text).toContain('"note": "write to ***@***"');
    expect(text).not.toMatch(/ada@example\.com|4111 1111/);
    expect(text).toMatch(/http\.DELETE @ .*\n> DELETE \/customers\/1\n.*decision: DENY/);
    expect(text).toMatch(/gateway answered 403: denied: gatehouse: denied: agents may only read/);
    expect(text).toContain(`> POST /upload\n> ${HOSTILE_BODY}\n`);
  });

  it.skipIf(chromiumSkipReason !== undefined)(
    'the web page shows the HTTP and MCP transcripts',
    async () => {
      const browser = await launchChromium();
      try {
        const context = await browser.newContext({
          extraHTTPHeaders: { authorization: `Bearer ${soc}` },
        });
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        const seen: Record<string, string> = { http: '', mcp: '' };
        for (const protocol of ['http', 'mcp']) {
          for (const id of await sessionsOf(protocol)) {
            await page.goto(`${base}/`);
            await page.click(`a[href="/sessions/${id}"]`);
            await page.waitForURL(`${base}/sessions/${id}`);
            seen[protocol] += await page.locator('pre.transcript').innerText();
          }
        }
        for (const line of [
          '> GET /customers',
          'HTTP 200',
          '"email": "***"',
          'gateway answered 403',
          HOSTILE_BODY, // shown as text, never markup
        ])
          expect(seen.http).toContain(line);
        for (const line of [
          '> tools/call list_customers {"limit":1}',
          'decision: DENY',
          'ERROR -32003: gatehouse: denied: tool delete_customer is denied for agents',
        ])
          expect(seen.mcp).toContain(line);
        // The identity's timeline page, from the session list: every protocol, the decisions, links to sessions.
        await page.goto(`${base}/`);
        await page.locator(`a[href="/timeline?identity=${AGENT}"]`).first().click();
        await page.waitForURL(/\/timeline\?identity=/);
        const rows = page.locator('table.timeline tbody tr');
        const cells: string[][] = [];
        for (let i = 0; i < (await rows.count()); i++)
          cells.push(await rows.nth(i).locator('td').allInnerTexts());
        expect(cells.map((c) => [c[1], c[4], c[5], c[6]])).toEqual(
          EXPECTED.map(([p, k, d, t]) => [p, k, d, t]),
        );
        expect(await page.evaluate('window.__xss')).toBeUndefined();
        expect(await page.locator('pre.transcript img').count()).toBe(0);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
