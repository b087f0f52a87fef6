import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { Event } from '../../services/shared/events/codec.js';
import { expectAbsent, responses } from '../support/gateway-callers.js';
import { curl, httpGatewaySuite } from '../support/http-gateway.js';

const suite = httpGatewaySuite();
const { token, recorded } = suite;
/** Everything clients got back, to check no credential or upstream address leaked into an answer. */
const answers: string[] = [];

afterAll(() => {
  const upstream = suite.fx.upstream.url;
  expectAbsent(answers.join('\n'), [suite.fx.upstreamToken, new URL(upstream).host, '127.0.0.1:9']);
});

/** An agent's GET through `connection`, by curl; its answer is kept for the leak check. */
async function get(name: string, target: string, connection?: string) {
  const t = await token(name, { agent: true });
  const r = await curl(['-H', `Authorization: Bearer ${t}`, `${suite.fx.base(connection)}${target}`]);
  answers.push(r.headers, r.body);
  return r;
}

/** The one `http.error` event of `name` (the gateway's own answer), parsed. */
async function gatewayError(
  name: string,
): Promise<{ code: string; json: Record<string, unknown>; evs: Event[] }> {
  const evs = await recorded(name, (e) => responses(e, 'http.error').length > 0);
  const e = responses(evs, 'http.error')[0]!;
  return { code: e.code, json: JSON.parse(e.text) as Record<string, unknown>, evs };
}

describe('HTTP proxy: upstream failures', () => {
  it('a refused connection is 502 upstream_unavailable, JSON, recorded', async () => {
    const r = await get('agent-a', '/customers', 'demo-http-down');
    expect(r.status).toBe(502);
    expect(r.headers).toContain('content-type: application/json');
    expect(JSON.parse(r.body)).toEqual({
      error: 'upstream_unavailable',
      message: 'gatehouse: the upstream is unavailable',
    });
    const e = await gatewayError('agent-a');
    expect(e.code).toBe('502');
    expect(e.json).toMatchObject({ error: 'upstream_unavailable' });
  });

  it('a reset before the response headers is 502 upstream_unavailable, recorded', async () => {
    const r = await get('agent-b', '/cut?after=0');
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'upstream_unavailable' });
    expect((await gatewayError('agent-b')).code).toBe('502');
  });

  it('a reset mid-body of a JSON response being masked is 502 (nothing was sent yet), recorded', async () => {
    const r = await get('agent-c', '/cut?after=4000&type=json');
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body)).toEqual({
      error: 'upstream_unavailable',
      message: 'gatehouse: the upstream failed while answering',
    });
    const e = await gatewayError('agent-c');
    expect(e.code).toBe('502');
    expect(responses(e.evs, 'http.head')).toEqual([]);
  });

  it('a reset mid-body of a streamed response cuts the client off (curl exit 18); the audit says why', async () => {
    const r = await get('agent-d', '/cut?after=200000');
    expect(r.status).toBe(200);
    expect(r.exitCode).toBe(18); // CURLE_PARTIAL_FILE
    expect(r.body.length).toBeLessThan(400_000);
    const e = await gatewayError('agent-d');
    expect(e.code).toBe('502');
    expect(e.json).toEqual({
      error: 'upstream_unavailable',
      message: 'gatehouse: the upstream failed while answering (connection cut)',
    });
    expect(responses(e.evs, 'http.head')[0]!.code).toBe('200');
    const body = await recorded('agent-d', (evs) => responses(evs, 'http.body').length > 0);
    expect(responses(body, 'http.body')[0]!.text).toBe('200000 bytes, first 65536 recorded');
  });

  it('no response headers within headersTimeoutMs is 504 upstream_timeout (undici), recorded', async () => {
    const t = await token('agent-e', { agent: true });
    const started = Date.now();
    const r = await request(`${suite.fx.base('demo-http-slow')}/slow?ms=3000`, {
      headers: { authorization: `Bearer ${t}` },
    });
    expect(r.statusCode).toBe(504);
    const body = (await r.body.json()) as Record<string, unknown>;
    answers.push(JSON.stringify(body));
    expect(body).toEqual({
      error: 'upstream_timeout',
      message: 'gatehouse: the upstream did not answer in time',
    });
    expect(Date.now() - started).toBeLessThan(2_500);
    expect((await gatewayError('agent-e')).code).toBe('504');
  });

  it('a JSON body that stalls past bodyTimeoutMs while being masked is 504, recorded', async () => {
    const r = await get('agent-f', '/stall?after=4000&type=json', 'demo-http-slow');
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body)).toEqual({
      error: 'upstream_timeout',
      message: 'gatehouse: the upstream stalled while answering',
    });
    expect((await gatewayError('agent-f')).code).toBe('504');
  });

  it("an upstream's own 500 is its answer: relayed with its status and body, recorded as a response", async () => {
    const r = await get('agent-g', '/fail');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({ error: 'upstream exploded' });
    const evs = await recorded('agent-g', (e) => responses(e, 'http.body').length > 0);
    expect(responses(evs, 'http.head')[0]!.code).toBe('500');
    expect(Buffer.from(responses(evs, 'http.body')[0]!.data).toString()).toBe(
      '{"error":"upstream exploded"}',
    );
    expect(responses(evs, 'http.error')).toEqual([]);
  });
});
