import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../services/shared/events/codec.js';
import { api, eventually } from '../support/approval.js';
import { collectEvents } from '../support/event-collector.js';
import type { EventCollector } from '../support/event-collector.js';
import { startHttpGatewayFixture } from '../support/http-gateway.js';
import type { HttpGatewayFixture } from '../support/http-gateway.js';

const exec = promisify(execFile);
let fx: HttpGatewayFixture;
let events: EventCollector;
const run = Math.random().toString(36).slice(2, 8);
const tokens: string[] = [];

async function token(name: string, opts: { agent?: boolean; groups?: string[] } = {}): Promise<string> {
  const t = await fx.idp.issueToken({
    user: `${name}-${run}`,
    agent: opts.agent ?? false,
    groups: opts.groups ?? (opts.agent ? ['agents'] : ['engineering']),
  });
  tokens.push(t);
  return t;
}

/** curl: status, headers (lower-case names, the last response's block) and body. */
async function curl(
  args: string[],
  input?: Buffer,
): Promise<{ status: number; headers: string; body: string }> {
  const headerFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-curl-')), 'headers');
  const p = exec('curl', ['-sS', '-D', headerFile, '-w', '\n%{http_code}', ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  p.child.stdin!.end(input ?? Buffer.alloc(0));
  const { stdout } = await p;
  const i = stdout.lastIndexOf('\n');
  const blocks = readFileSync(headerFile, 'utf8')
    .trim()
    .split(/\r\n\r\n/);
  return {
    status: Number(stdout.slice(i + 1)),
    headers: blocks.at(-1)!.toLowerCase(),
    body: stdout.slice(0, i),
  };
}

const of = (name: string) => (e: Event) => e.identity?.sub === `${name}-${run}`;

function recorded(name: string, done: (evs: Event[]) => boolean): Promise<Event[]> {
  return events.waitFor((records) => {
    const evs = records.map((r) => r.event).filter(of(name));
    return done(evs) ? evs : undefined;
  });
}

const bodies = <C extends NonNullable<Event['body']['case']>>(evs: Event[], c: C) =>
  evs.flatMap((e) =>
    e.body.case === c ? [e.body.value as Extract<Event['body'], { case: C }>['value']] : [],
  );

const responses = (evs: Event[], frame: string) => bodies(evs, 'response').filter((r) => r.frame === frame);

/** The pending approval of `name`'s held request, as the reviewer sees it. */
function pendingOf(name: string, reviewer: string) {
  return eventually(
    async () => {
      const r = await api(fx.approval.url, 'GET', '/v1/approvals?state=pending', reviewer);
      return r.body.approvals?.find((a) => a.requester.sub === `${name}-${run}`);
    },
    30_000,
    `the held request of ${name}`,
  );
}

const seenSince = (n: number) => fx.upstream.seen.slice(n);

/** While true, durable publishes fail (the audit log cannot acknowledge): the gateway must fail closed. */
let refuseDurable = false;

beforeAll(async () => {
  fx = await startHttpGatewayFixture(
    { maxRequestBodyBytes: 1024 * 1024 },
    {
      sessionPublisher: (p) => ({
        publishBatched: (r) => p.publishBatched(r),
        publishDurable: (r) =>
          refuseDurable
            ? Promise.reject(new Error('test: the audit log is unavailable'))
            : p.publishDurable(r),
        assertAccepting: (bytes) => p.assertAccepting(bytes),
        stats: () => p.stats(),
        close: (ms) => p.close(ms),
      }),
    },
  );
  events = collectEvents(fx.sessionsTopic);
}, 120_000);

afterAll(async () => {
  await events?.stop();
  await fx?.stop();
  // The clients' tokens never reached the upstream, nor the audit log.
  const raw = events ? events.records.map((r) => r.raw.toString('latin1')).join('\n') : '';
  const upstream = JSON.stringify(fx?.upstream.seen ?? []);
  for (const t of tokens) {
    expect(raw.includes(t.split('.')[2]!)).toBe(false);
    expect(upstream.includes(t.split('.')[2]!)).toBe(false);
  }
});

describe('HTTP proxy: policy, masking, credentials', () => {
  it("an agent's GET /customers is allowed, masked by field path and detectors, and recorded masked", async () => {
    const t = await token('agent-a', { agent: true });
    const before = fx.upstream.seen.length;
    const r = await curl(['-H', `Authorization: Bearer ${t}`, `${fx.base()}/customers`]);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { customers: Record<string, unknown>[] };
    expect(body.customers).toHaveLength(3);
    expect(body.customers.map((c) => c.email)).toEqual(['***', '***', '***']);
    expect(body.customers.map((c) => c.card_number)).toEqual(['***', '***', '***']);
    expect(body.customers[0]!.name).toBe('Ada Lovelace');
    // The detectors (agents) mask an address inside free text too.
    expect(String(body.customers[1]!.note)).not.toContain('alan@example.org');
    expect(r.body).not.toMatch(/@example\./);
    // The upstream saw the gateway's credential, never the client's token.
    const seen = seenSince(before);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /customers']);
    expect(seen[0]!.authorization).toBe(`Bearer ${fx.upstreamToken}`);
    const evs = await recorded('agent-a', (e) => responses(e, 'http.body').length > 0);
    const req = bodies(evs, 'request')[0]!;
    expect(req.kind).toBe('http.GET');
    expect(req.text).toBe('GET /customers');
    expect(JSON.parse(req.parsedJson)).toMatchObject({
      kind: 'http',
      http: { method: 'GET', path: '/customers' },
    });
    expect(bodies(evs, 'decision')[0]!.allow).toBe(true);
    expect(responses(evs, 'http.head')[0]!.code).toBe('200');
    const recordedBody = Buffer.from(responses(evs, 'http.body')[0]!.data).toString('utf8');
    expect(recordedBody).toBe(r.body);
    expect(bodies(evs, 'sessionOpened')).toHaveLength(1);
  });

  it("an agent's DELETE is denied with 403 and the reason; nothing reaches the upstream", async () => {
    const t = await token('agent-b', { agent: true });
    const before = fx.upstream.seen.length;
    const r = await request(`${fx.base()}/customers/2`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${t}` },
    });
    expect(r.statusCode).toBe(403);
    const body = (await r.body.json()) as { error: string; reasons: string[] };
    expect(body.error).toBe('denied');
    expect(body.reasons).toEqual(['agents may only read through HTTP (GET, HEAD, OPTIONS), not DELETE']);
    expect(seenSince(before)).toEqual([]);
    const evs = await recorded('agent-b', (e) => responses(e, 'http.error').length > 0);
    expect(bodies(evs, 'decision')[0]).toMatchObject({ allow: false, reasons: body.reasons });
    expect(responses(evs, 'http.error')[0]!.code).toBe('403');
  });

  it("a person's DELETE is held, approved by a reviewer through the approval service, then forwarded", async () => {
    const requester = await token('person-c');
    const reviewer = await token('oncall-d', { groups: ['oncall'] });
    const call = request(`${fx.base()}/customers/3`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${requester}` },
      headersTimeout: 60_000,
    });
    const pending = await pendingOf('person-c', reviewer);
    expect(pending.request.text).toBe('demo-http: DELETE /customers/3');
    expect(pending.protocol).toBe('http');
    expect(pending.reasons).toEqual(['DELETE /customers/3 requires approval by oncall']);
    expect(fx.upstream.seen.some((s) => s.method === 'DELETE')).toBe(false);
    const ok = await api(fx.approval.url, 'POST', `/v1/approvals/${pending.id}/approve`, reviewer);
    expect(ok.status).toBe(200);
    const r = await call;
    expect(r.statusCode).toBe(204);
    await r.body.dump();
    expect(fx.upstream.seen.filter((s) => s.method === 'DELETE').map((s) => s.url)).toEqual(['/customers/3']);
    const evs = await recorded('person-c', (e) => responses(e, 'http.head').length > 0);
    expect(bodies(evs, 'approvalRequested')[0]!.requestText).toBe('demo-http: DELETE /customers/3');
    expect(bodies(evs, 'approvalDecided')[0]!.outcome).toBe('approved');
    expect(responses(evs, 'http.head')[0]!.code).toBe('204');
  });

  it("a person's PATCH rejected by the reviewer gets 403 with the rejection; nothing reaches the upstream", async () => {
    const requester = await token('person-l');
    const reviewer = await token('oncall-m', { groups: ['oncall'] });
    const before = fx.upstream.seen.length;
    const call = request(`${fx.base()}/customers/1`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${requester}`, 'content-type': 'application/json' },
      body: '{"email":"new@example.com"}',
      headersTimeout: 60_000,
    });
    const pending = await pendingOf('person-l', reviewer);
    // The reviewer sees the body and its digest: the approval is bound to these exact bytes.
    const patch = '{"email":"new@example.com"}';
    const digest = createHash('sha256').update(patch).digest('hex');
    expect(pending.request.text).toBe(
      `demo-http: PATCH /customers/1\nbody sha256 ${digest} (${patch.length} bytes)\n${patch}`,
    );
    const no = await api(fx.approval.url, 'POST', `/v1/approvals/${pending.id}/reject`, reviewer, {
      reason: 'not during the freeze',
    });
    expect(no.status).toBe(200);
    const r = await call;
    expect(r.statusCode).toBe(403);
    const body = (await r.body.json()) as { error: string; approvalId: string };
    expect(body).toMatchObject({ error: 'denied', approvalId: pending.id });
    expect(seenSince(before)).toEqual([]);
    const evs = await recorded('person-l', (e) => responses(e, 'http.error').length > 0);
    const req = bodies(evs, 'request')[0]!;
    expect(JSON.parse(req.parsedJson)).toMatchObject({ http: { json: { email: 'new@example.com' } } });
    expect(bodies(evs, 'approvalDecided')[0]!.outcome).toBe('rejected');
  });

  it('a missing or forged token gets 401 with a Bearer challenge; nothing reaches the upstream', async () => {
    const before = fx.upstream.seen.length;
    const none = await curl([`${fx.base()}/customers`]);
    expect(none.status).toBe(401);
    expect(none.headers).toContain('www-authenticate: bearer realm="gatehouse"');
    const real = await token('forger-e', { agent: true });
    const [h, p] = real.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', groups: ['oncall'] })).toString('base64url')}.${p}`;
    const bad = await curl(['-H', `Authorization: Bearer ${forged}`, `${fx.base()}/customers`]);
    expect(bad.status).toBe(401);
    expect(bad.headers).toContain('error="invalid_token"');
    expect(JSON.parse(bad.body)).toMatchObject({ error: 'unauthorized' });
    expect(seenSince(before)).toEqual([]);
    // Both refusals are recorded (login_refused, protocol http), without the token.
    const refused = await events.waitFor((records) => {
      const r = records
        .map((x) => x.event)
        .filter((e) => e.connection?.protocol === 'http' && e.body.case === 'loginRefused')
        .map((e) => e.body.value as { reason: string; code: string });
      return r.length >= 2 ? r : undefined;
    });
    expect(refused.map((r) => r.reason)).toEqual(['no_token', 'bad_token']);
    expect(refused[0]!.code).toBe('GH_ERR_UNAUTHENTICATED');
  });
});

describe('HTTP proxy: bodies and upstream failures', () => {
  it('a chunked upload (curl, Transfer-Encoding: chunked) reaches the upstream byte for byte', async () => {
    const t = await token('person-f');
    const data = randomBytes(300 * 1024);
    const r = await curl(
      [
        '-X',
        'POST',
        '-H',
        `Authorization: Bearer ${t}`,
        '-H',
        'Content-Type: application/octet-stream',
        '-H',
        'Transfer-Encoding: chunked',
        '--data-binary',
        '@-',
        `${fx.base()}/upload`,
      ],
      data,
    );
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({
      bytes: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
    });
    const evs = await recorded('person-f', (e) => responses(e, 'http.body').length > 0);
    const req = bodies(evs, 'request')[0]!;
    expect(req.text).toMatch(/^POST \/upload\n\n<307200 bytes binary, sha256 [0-9a-f]{64}>$/);
  });

  it('a write whose decision the audit log cannot acknowledge gets 503 and is not forwarded (fail closed)', async () => {
    const t = await token('person-n');
    const before = fx.upstream.seen.length;
    refuseDurable = true;
    try {
      const r = await curl([
        '-X',
        'POST',
        '-H',
        `Authorization: Bearer ${t}`,
        '-H',
        'Content-Type: text/plain',
        '--data-binary',
        'hello',
        `${fx.base()}/upload`,
      ]);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'audit_unavailable' });
    } finally {
      refuseDurable = false;
    }
    expect(seenSince(before)).toEqual([]);
  });

  it('a body over maxRequestBodyBytes gets 413 and is not forwarded', async () => {
    const t = await token('person-g');
    const before = fx.upstream.seen.length;
    const r = await request(`${fx.base()}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t}`, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(2 * 1024 * 1024, 1),
    });
    expect(r.statusCode).toBe(413);
    expect(((await r.body.json()) as { error: string }).error).toBe('body_too_large');
    expect(seenSince(before)).toEqual([]);
  });

  it('a 200 MiB download streams through with bounded memory; its first bytes are recorded', async () => {
    const t = await token('agent-h', { agent: true });
    const size = 200 * 1024 * 1024;
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const r = await request(`${fx.base()}/large?bytes=${size}`, {
      headers: { authorization: `Bearer ${t}` },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-length']).toBe(String(size));
    let n = 0;
    for await (const chunk of r.body) {
      n += (chunk as Buffer).length;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(n).toBe(size);
    // Gateway, upstream and client share this process: a buffered body would add 200 MiB at least.
    expect(peak - rssBefore).toBeLessThan(96 * 1024 * 1024);
    const evs = await recorded('agent-h', (e) => responses(e, 'http.body').length > 0);
    const b = responses(evs, 'http.body')[0]!;
    expect(b.text).toBe(`${size} bytes, first 65536 recorded`);
    expect(b.data.length).toBe(65536);
  }, 120_000);

  it('a slow client reading a 16 MiB download gets every byte (backpressure, no timeout)', async () => {
    const t = await token('agent-i', { agent: true });
    const size = 16 * 1024 * 1024;
    const r = await request(`${fx.base()}/large?bytes=${size}`, {
      headers: { authorization: `Bearer ${t}` },
      highWaterMark: 16 * 1024,
    });
    let n = 0;
    let chunks = 0;
    for await (const chunk of r.body) {
      n += (chunk as Buffer).length;
      if (++chunks % 64 === 0) await sleep(50);
    }
    expect(n).toBe(size);
  }, 120_000);

  it("an upstream's own 500 is relayed as it is (status and body); a refused connection is 502", async () => {
    const t = await token('agent-j', { agent: true });
    const fail = await curl(['-H', `Authorization: Bearer ${t}`, `${fx.base()}/fail`]);
    expect(fail.status).toBe(500);
    expect(JSON.parse(fail.body)).toEqual({ error: 'upstream exploded' });
    const down = await curl(['-H', `Authorization: Bearer ${t}`, `${fx.base('demo-http-down')}/customers`]);
    expect(down.status).toBe(502);
    expect(JSON.parse(down.body)).toMatchObject({ error: 'upstream_unavailable' });
    const evs = await recorded('agent-j', (e) => responses(e, 'http.error').length > 0);
    expect(responses(evs, 'http.head').map((h) => h.code)).toContain('500');
    expect(responses(evs, 'http.error')[0]!.code).toBe('502');
  });

  it('a slow upstream (no headers within headersTimeoutMs) is 504', async () => {
    const t = await token('agent-k', { agent: true });
    const started = Date.now();
    const r = await request(`${fx.base('demo-http-slow')}/slow?ms=3000`, {
      headers: { authorization: `Bearer ${t}` },
    });
    expect(r.statusCode).toBe(504);
    expect(((await r.body.json()) as { error: string }).error).toBe('upstream_timeout');
    expect(Date.now() - started).toBeLessThan(2_500);
    const evs = await recorded('agent-k', (e) => responses(e, 'http.error').length > 0);
    expect(responses(evs, 'http.error')[0]!.code).toBe('504');
  });
});
