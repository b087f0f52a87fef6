import { createHash } from 'node:crypto';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { api, eventually } from '../support/approval.js';
import { bodies, responses } from '../support/gateway-callers.js';
import { curl, httpGatewaySuite } from '../support/http-gateway.js';

/** While true, durable publishes fail (the audit log cannot acknowledge): the gateway must fail closed. */
let refuseDurable = false;

const suite = httpGatewaySuite(
  { maxRequestBodyBytes: 1024 * 1024 },
  {
    sessionPublisher: (p) => ({
      publishBatched: (r) => p.publishBatched(r),
      publishDurable: (r) =>
        refuseDurable ? Promise.reject(new Error('test: the audit log is unavailable')) : p.publishDurable(r),
      assertAccepting: (bytes) => p.assertAccepting(bytes),
      stats: () => p.stats(),
      close: (ms) => p.close(ms),
    }),
  },
);
const { token, recorded, sub } = suite;

/** The pending approval of `name`'s held request, as the reviewer sees it. */
function pendingOf(name: string, reviewer: string) {
  return eventually(
    async () => {
      const r = await api(suite.fx.approval.url, 'GET', '/v1/approvals?state=pending', reviewer);
      return r.body.approvals?.find((a) => a.requester.sub === sub(name));
    },
    30_000,
    `the held request of ${name}`,
  );
}

const seenSince = (n: number) => suite.fx.upstream.seen.slice(n);

describe('HTTP proxy: policy, masking, credentials', () => {
  it("an agent's GET /customers is allowed, masked by field path and detectors, and recorded masked", async () => {
    const t = await token('agent-a', { agent: true });
    const before = suite.fx.upstream.seen.length;
    const r = await curl(['-H', `Authorization: Bearer ${t}`, `${suite.fx.base()}/customers`]);
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
    expect(seen[0]!.authorization).toBe(`Bearer ${suite.fx.upstreamToken}`);
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
    const before = suite.fx.upstream.seen.length;
    const r = await request(`${suite.fx.base()}/customers/2`, {
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
    const call = request(`${suite.fx.base()}/customers/3`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${requester}` },
      headersTimeout: 60_000,
    });
    const pending = await pendingOf('person-c', reviewer);
    expect(pending.request.text).toBe('demo-http: DELETE /customers/3');
    expect(pending.protocol).toBe('http');
    expect(pending.reasons).toEqual(['DELETE /customers/3 requires approval by oncall']);
    expect(suite.fx.upstream.seen.some((s) => s.method === 'DELETE')).toBe(false);
    const ok = await api(suite.fx.approval.url, 'POST', `/v1/approvals/${pending.id}/approve`, reviewer);
    expect(ok.status).toBe(200);
    const r = await call;
    expect(r.statusCode).toBe(204);
    await r.body.dump();
    expect(suite.fx.upstream.seen.filter((s) => s.method === 'DELETE').map((s) => s.url)).toEqual([
      '/customers/3',
    ]);
    const evs = await recorded('person-c', (e) => responses(e, 'http.head').length > 0);
    expect(bodies(evs, 'approvalRequested')[0]!.requestText).toBe('demo-http: DELETE /customers/3');
    expect(bodies(evs, 'approvalDecided')[0]!.outcome).toBe('approved');
    expect(responses(evs, 'http.head')[0]!.code).toBe('204');
  });

  it("a person's PATCH rejected by the reviewer gets 403 with the rejection; nothing reaches the upstream", async () => {
    const requester = await token('person-l');
    const reviewer = await token('oncall-m', { groups: ['oncall'] });
    const before = suite.fx.upstream.seen.length;
    const call = request(`${suite.fx.base()}/customers/1`, {
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
    const no = await api(suite.fx.approval.url, 'POST', `/v1/approvals/${pending.id}/reject`, reviewer, {
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
    const before = suite.fx.upstream.seen.length;
    const none = await curl([`${suite.fx.base()}/customers`]);
    expect(none.status).toBe(401);
    expect(none.headers).toContain('www-authenticate: bearer realm="gatehouse"');
    const real = await token('forger-e', { agent: true });
    const [h, p] = real.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', groups: ['oncall'] })).toString('base64url')}.${p}`;
    const bad = await curl(['-H', `Authorization: Bearer ${forged}`, `${suite.fx.base()}/customers`]);
    expect(bad.status).toBe(401);
    expect(bad.headers).toContain('error="invalid_token"');
    expect(JSON.parse(bad.body)).toMatchObject({ error: 'unauthorized' });
    expect(seenSince(before)).toEqual([]);
    // Both refusals are recorded (login_refused, protocol http), without the token.
    const refused = await suite.events.waitFor((records) => {
      const r = records
        .map((x) => x.event)
        .filter((e) => e.connection?.protocol === 'http' && e.body.case === 'loginRefused')
        .map((e) => e.body.value as { reason: string; code: string });
      return r.length >= 2 ? r : undefined;
    });
    // Each refusal is its own session (keyed by its id, so on any partition): no order between the two.
    expect(refused.map((r) => r.reason).sort()).toEqual(['bad_token', 'no_token']);
    expect(refused.find((r) => r.reason === 'no_token')!.code).toBe('GH_ERR_UNAUTHENTICATED');
  });
});

describe('HTTP proxy: audit fails closed', () => {
  it('a write whose decision the audit log cannot acknowledge gets 503 and is not forwarded', async () => {
    const t = await token('person-n');
    const before = suite.fx.upstream.seen.length;
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
        `${suite.fx.base()}/upload`,
      ]);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'audit_unavailable' });
    } finally {
      refuseDurable = false;
    }
    expect(seenSince(before)).toEqual([]);
  });
});
