import { createHash } from 'node:crypto';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { VersionNegotiationMode } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../services/shared/events/codec.js';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import { api, eventually } from '../support/approval.js';
import { testDatabase } from '../support/clickhouse.js';
import { collectEvents } from '../support/event-collector.js';
import type { EventCollector } from '../support/event-collector.js';
import { startFixtureRecorder } from '../support/gateway.js';
import { startMcpGatewayFixture } from '../support/mcp-gateway.js';
import type { McpGatewayFixture } from '../support/mcp-gateway.js';

let fx: McpGatewayFixture;
let events: EventCollector;
let db: Awaited<ReturnType<typeof testDatabase>>;
let recorder: Recorder;
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

async function connect(t: string, mode: VersionNegotiationMode = { pin: '2026-07-28' }): Promise<Client> {
  const client = new Client({ name: 'gatehouse-test', version: '1' }, { versionNegotiation: { mode } });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(fx.endpoint()), {
      authProvider: { token: () => Promise.resolve(t) },
    }),
  );
  return client;
}

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

const of = (name: string) => (e: Event) => e.identity?.sub === `${name}-${run}`;

/** The recorded events of `name` once `done` holds. */
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

beforeAll(async () => {
  fx = await startMcpGatewayFixture();
  events = collectEvents(fx.sessionsTopic);
  db = await testDatabase('gatehouse_mcp');
  recorder = await startFixtureRecorder(fx, 'mcp', db.opts);
}, 120_000);

afterAll(async () => {
  await recorder?.stop();
  await events?.stop();
  await fx?.stop();
  await db?.drop();
  // The agents' and people's tokens never reached the upstream, nor the audit log.
  const raw = events ? events.records.map((r) => r.raw.toString('latin1')).join('\n') : '';
  for (const t of tokens) {
    expect(raw.includes(t)).toBe(false);
    expect(raw.includes(t.split('.')[2]!)).toBe(false);
  }
});

describe('MCP gateway with the SDK client', () => {
  it('an agent (2026-07-28) sees only the tools policy lets it call and gets masked results', async () => {
    const client = await connect(await token('agent-a', { agent: true }));
    const listed = await client.listTools();
    expect(listed.tools.map((t) => t.name)).toEqual(['list_customers']);
    const r = await client.callTool({ name: 'list_customers', arguments: { limit: 2 } });
    const structured = r.structuredContent as {
      customers: { email: string; card_number: string; name: string }[];
    };
    expect(structured.customers).toHaveLength(2);
    expect(structured.customers[0]).toMatchObject({
      name: 'Mary Johnson',
      email: '***@***',
      card_number: '***',
    });
    const text = (r.content as { type: string; text: string }[])[0]!.text;
    expect(text).not.toMatch(/@example\.org|4111111111111111/);
    expect(text).toContain('Mary Johnson');
    await client.close();

    const evs = await recorded('agent-a', (e) =>
      bodies(e, 'response').some((x) => x.frame === 'mcp.result' && x.text.includes('masked')),
    );
    const call = bodies(evs, 'request').find((x) => x.kind === 'mcp.tools/call')!;
    expect(JSON.parse(call.parsedJson)).toMatchObject({
      kind: 'mcp',
      mcp: {
        method: 'tools/call',
        tool: 'list_customers',
        arguments: { limit: 2 },
        server: 'demo-mcp',
        phase: 'call',
      },
    });
    const decision = bodies(evs, 'decision').find((d) => d.requestId === call.requestId)!;
    expect(decision.allow).toBe(true);
    expect(decision.argumentsDigest).toBe(createHash('sha256').update('{"limit":2}').digest('hex'));
    const delivered = bodies(evs, 'response').find((x) => x.requestId === call.requestId)!;
    expect(Buffer.from(delivered.data).toString()).not.toMatch(/example\.org|4111111111111111/);
    expect(evs.every((e) => e.protocol === 'mcp')).toBe(true);
    expect(bodies(evs, 'sessionOpened')).toHaveLength(1);
    // The upstream only ever saw the gateway's own credential.
    expect(new Set(fx.upstream.seenAuthorizations)).toEqual(new Set([`Bearer ${fx.upstreamToken}`]));
  });

  it('a person (2025-11-25, legacy handshake) sees every tool; card numbers are masked by field path', async () => {
    const client = await connect(await token('person-b'), 'legacy');
    const listed = await client.listTools();
    expect(listed.tools.map((t) => t.name).sort()).toEqual(['delete_customer', 'list_customers']);
    const r = await client.callTool({ name: 'list_customers', arguments: { limit: 1 } });
    expect((r.structuredContent as { customers: unknown[] }).customers[0]).toMatchObject({
      email: 'mary.johnson@example.org',
      card_number: '***',
    });
    await client.close();
  });

  it("an agent's delete_customer is denied with the policy's reason and never reaches the upstream", async () => {
    const client = await connect(await token('agent-c', { agent: true }));
    const before = fx.upstream.seenAuthorizations.length;
    const err = await client.callTool({ name: 'delete_customer', arguments: { id: 2 } }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; message: string },
    );
    expect(err?.code).toBe(-32003);
    expect(err?.message).toContain('tool delete_customer is denied for agents');
    expect(fx.upstream.seenAuthorizations.length).toBe(before);
    expect(fx.upstream.state.store.list(10).map((c) => c.id)).toContain(2);
    await client.close();
    const evs = await recorded('agent-c', (e) => bodies(e, 'response').some((x) => x.frame === 'mcp.error'));
    const d = bodies(evs, 'decision').find((x) => !x.allow)!;
    expect(d.reasons).toEqual(['tool delete_customer is denied for agents']);
  });

  it("a person's delete_customer is held; the reviewer sees the exact arguments, approves, and the call runs", async () => {
    const requester = await token('person-d');
    const reviewer = await token('oncall-e', { groups: ['oncall'] });
    const client = await connect(requester);
    const call = client.callTool({ name: 'delete_customer', arguments: { id: 3 } }, { timeout: 60_000 });
    const pending = await eventually(
      async () => {
        const r = await api(fx.approval.url, 'GET', '/v1/approvals?state=pending', reviewer);
        return r.body.approvals?.find((a) => a.requester.sub === `person-d-${run}`);
      },
      30_000,
      'the held delete_customer',
    );
    expect(pending.request.text).toBe('demo-mcp: tools/call delete_customer {"id":3}');
    expect(pending.protocol).toBe('mcp');
    expect(pending.reasons).toEqual(['tool delete_customer requires approval by oncall']);
    const ok = await api(fx.approval.url, 'POST', `/v1/approvals/${pending.id}/approve`, reviewer);
    expect(ok.status).toBe(200);
    const r = await call;
    expect((r.content as { text: string }[])[0]!.text).toBe('customer 3 deleted');
    expect(fx.upstream.state.store.list(10).map((c) => c.id)).not.toContain(3);
    await client.close();
    const evs = await recorded(
      'person-d',
      (e) => bodies(e, 'approvalDecided').length > 0 && bodies(e, 'response').some((x) => x.text === ''),
    );
    expect(bodies(evs, 'approvalRequested')[0]!.requestText).toBe(
      'demo-mcp: tools/call delete_customer {"id":3}',
    );
    expect(bodies(evs, 'approvalDecided')[0]!.outcome).toBe('approved');
    // While it waited, the client was told why and where to approve (a log notification on the SSE reply).
    const notice = bodies(evs, 'response').find((x) => x.frame === 'mcp.notification')!;
    expect(Buffer.from(notice.data).toString()).toContain(
      `waiting for approval ${pending.id} at ${fx.approval.url}`,
    );
  });
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

describe('MCP tool definitions and recording', () => {
  it('a tool whose description changes between listings is flagged and then refused to agents', async () => {
    const person = await connect(await token('person-g'));
    await person.listTools(); // pinned (already, by earlier tests)
    fx.upstream.state.poisoned = true;
    try {
      const relisted = await person.listTools();
      expect(relisted.tools.find((t) => t.name === 'list_customers')?.description).toContain('IMPORTANT');
      const evs = await recorded('person-g', (e) => bodies(e, 'mcpToolChanged').length > 0);
      const change = bodies(evs, 'mcpToolChanged')[0]!;
      expect(change).toMatchObject({ server: 'demo-mcp', tool: 'list_customers', changed: ['description'] });
      const agent = await connect(await token('agent-h', { agent: true }));
      expect((await agent.listTools()).tools).toEqual([]);
      const err = await agent.callTool({ name: 'list_customers', arguments: {} }).then(
        () => undefined,
        (e: unknown) => e as { message: string },
      );
      expect(err?.message).toContain('changed its definition');
      await agent.close();
    } finally {
      fx.upstream.state.poisoned = false;
      await person.close();
    }
  });

  it('MCP tool calls land in ClickHouse and the transcript shows the call and its result', async () => {
    const rows = await eventually(async () => {
      const r = await db.ch.query<{ session_id: string; request_kind: string; decision: string }>(
        sql`SELECT session_id, request_kind, decision FROM events WHERE identity_sub = ${`agent-c-${run}`} AND kind IN ('request', 'decision') ORDER BY seq`,
      );
      return r.some((x) => x.decision === 'deny') ? r : undefined;
    }, 30_000);
    expect(rows.map((r) => r.request_kind)).toContain('mcp.tools/call');
    const analyst = await token('soc-i', { groups: ['soc'] });
    const res = await fetch(
      `http://127.0.0.1:${recorder.httpPort}/v1/sessions/${rows[0]!.session_id}/transcript`,
      {
        headers: { authorization: `Bearer ${analyst}` },
      },
    );
    const transcript = await res.text();
    expect(res.status).toBe(200);
    expect(transcript).toContain('> tools/call delete_customer {"id":2}');
    expect(transcript).toMatch(/decision: DENY .*tool delete_customer is denied for agents/);
    expect(transcript).toMatch(/ERROR -32003: gatehouse: denied: tool delete_customer is denied for agents/);
    // `gatehouse sessions` (the replay API's session list) shows the MCP session.
    const listed = await fetch(
      `http://127.0.0.1:${recorder.httpPort}/v1/sessions?identity=${encodeURIComponent(`agent-c-${run}`)}`,
      { headers: { authorization: `Bearer ${analyst}` } },
    );
    const sessions = ((await listed.json()) as { sessions: { sessionId?: string; protocol: string }[] })
      .sessions;
    expect(sessions.map((x) => x.protocol)).toEqual(['mcp']);
    // The agent's masked listing as the client saw it, replayed.
    const a = await db.ch.query<{ session_id: string }>(
      sql`SELECT session_id FROM events WHERE identity_sub = ${`agent-a-${run}`} AND kind = 'session_opened'`,
    );
    const replay = await (
      await fetch(`http://127.0.0.1:${recorder.httpPort}/v1/sessions/${a[0]!.session_id}/transcript`, {
        headers: { authorization: `Bearer ${analyst}` },
      })
    ).text();
    expect(replay).toContain('> tools/call list_customers {"limit":2}');
    expect(replay).toMatch(/result \(\d+ value\(s\) masked\):/);
    expect(replay).toContain('"card_number": "***"');
    expect(replay).not.toContain('4111111111111111');
  });
});
