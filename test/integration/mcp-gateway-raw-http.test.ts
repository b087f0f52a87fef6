import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectEvents } from '../support/event-collector.js';
import type { EventCollector } from '../support/event-collector.js';
import { bodies, expectAbsent, gatewayCallers, rawEvents } from '../support/gateway-callers.js';
import { startMcpGatewayFixture } from '../support/mcp-gateway.js';
import type { McpGatewayFixture } from '../support/mcp-gateway.js';

// The MCP gateway below the SDK: raw POSTs, refusals and protocol errors (the SDK client's view: mcp-gateway.test.ts).
let fx: McpGatewayFixture;
let events: EventCollector;
const { token, recorded, tokens } = gatewayCallers(
  () => fx.idp,
  () => events,
);

/** A raw POST to the gateway's MCP endpoint. */
async function post(
  body: string,
  headers: Record<string, string> = {},
  connection = 'demo-mcp',
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> | undefined; text: string }> {
  const res = await fetch(fx.endpoint(connection), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body,
  });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

beforeAll(async () => {
  fx = await startMcpGatewayFixture();
  events = collectEvents(fx.sessionsTopic);
}, 120_000);

afterAll(async () => {
  await events?.stop();
  await fx?.stop();
  expectAbsent(rawEvents(events), tokens);
});

describe('MCP gateway over raw HTTP', () => {
  let agent: string;
  beforeAll(async () => {
    agent = await token('raw-f', { agent: true });
  });
  const auth = () => ({ authorization: `Bearer ${agent}` });

  it('a request without a token gets 401 with the RFC 9728 challenge, and the metadata names the issuer', async () => {
    const r = await post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    expect(r.status).toBe(401);
    const challenge = r.headers.get('www-authenticate')!;
    const url = /resource_metadata="([^"]+)"/.exec(challenge)![1]!;
    expect(url).toBe(fx.endpoint().replace('/mcp/', '/.well-known/oauth-protected-resource/mcp/'));
    const meta = (await (await fetch(url)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ resource: fx.endpoint(), authorization_servers: [fx.idp.issuer] });
  });

  it('a forged token and a token for another audience get 401 invalid_token; the refusal is recorded', async () => {
    const [h, p] = agent.split('.');
    const forged = await post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', {
      authorization: `Bearer ${h}.${p}.AAAA`,
    });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const wrong = await post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', auth(), 'demo-mcp-strict');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const refused = await recorded('raw-f', (e) =>
      bodies(e, 'loginRefused').some((x) => x.reason === 'wrong_audience'),
    );
    expect(refused[0]!.connection?.name).toBe('demo-mcp-strict');
  });

  it('malformed JSON, invalid JSON-RPC, batches and a wrong content type get JSON-RPC errors', async () => {
    const parse = await post('{"jsonrpc":"2.0",', auth());
    expect(parse.status).toBe(400);
    expect(parse.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const invalid = await post('{"jsonrpc":"1.0","id":7,"method":"tools/list"}', auth());
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ id: 7, error: { code: -32600 } });
    const batch = await post(
      JSON.stringify(
        Array.from({ length: 500 }, (_, i) => ({
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: { name: 'delete_customer', arguments: { id: 1 } },
        })),
      ),
      auth(),
    );
    expect(batch.status).toBe(400);
    expect(batch.json).toMatchObject({
      error: { code: -32600, message: expect.stringContaining('batches') as string },
    });
    const type = await fetch(fx.endpoint(), {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(type.status).toBe(415);
    // Each refused message is recorded as sent, with the error the client got.
    const evs = await recorded(
      'raw-f',
      (e) => bodies(e, 'request').filter((x) => x.kind === 'mcp.invalid').length >= 4,
    );
    const refusedMsgs = bodies(evs, 'request').filter((x) => x.kind === 'mcp.invalid');
    expect(refusedMsgs.map((x) => x.text)).toContain('{"jsonrpc":"2.0",');
    const errors = bodies(evs, 'response').filter((x) =>
      refusedMsgs.some((i) => i.requestId === x.requestId),
    );
    expect(errors.map((x) => x.code)).toEqual(expect.arrayContaining(['-32700', '-32600']));
    expect(fx.upstream.state.store.list(10).map((c) => c.id)).toContain(1);
  });

  it('an oversized body gets 413 without being read', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'list_customers', arguments: { pad: 'x'.repeat(100 * 1024) } },
    });
    const r = await post(big, auth());
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({
      error: { code: -32600, message: expect.stringContaining('larger than') as string },
    });
  });

  it('Mcp-Method / Mcp-Name headers that disagree with the body are refused with -32020', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'delete_customer', arguments: { id: 1 } },
    });
    const m = await post(body, { ...auth(), 'mcp-method': 'tools/list' });
    expect(m.status).toBe(400);
    expect(m.json).toMatchObject({ id: 3, error: { code: -32020 } });
    const n = await post(body, { ...auth(), 'mcp-method': 'tools/call', 'mcp-name': 'list_customers' });
    expect(n.json).toMatchObject({
      error: { code: -32020, message: expect.stringContaining('Mcp-Name') as string },
    });
    const missing = await post(body, { ...auth(), 'mcp-protocol-version': '2026-07-28' });
    expect(missing.json).toMatchObject({
      error: { code: -32020, message: expect.stringContaining('required') as string },
    });
  });

  it('GET (no standalone server stream) is 405; DELETE is relayed with the gateway credential', async () => {
    const get = await fetch(fx.endpoint(), { headers: { ...auth(), accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    const before = fx.upstream.seenAuthorizations.length;
    const del = await fetch(fx.endpoint(), {
      method: 'DELETE',
      headers: { ...auth(), 'mcp-session-id': 'abc' },
    });
    expect(del.status).toBe(405); // the stateless demo server has no sessions to end
    expect(fx.upstream.seenAuthorizations.slice(before)).toEqual([`Bearer ${fx.upstreamToken}`]);
  });

  it('an unknown method is answered -32601 by the gateway, recorded, and not forwarded', async () => {
    const before = fx.upstream.seenAuthorizations.length;
    const r = await post('{"jsonrpc":"2.0","id":"u1","method":"admin/drop_all","params":{}}', auth());
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: 'u1', error: { code: -32601 } });
    expect(fx.upstream.seenAuthorizations.length).toBe(before);
    const evs = await recorded('raw-f', (e) =>
      bodies(e, 'request').some((x) => x.kind === 'mcp.admin/drop_all'),
    );
    expect(bodies(evs, 'request').find((x) => x.kind === 'mcp.admin/drop_all')!.text).toContain(
      'admin/drop_all',
    );
  });
});
