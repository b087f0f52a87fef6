import { createHash } from 'node:crypto';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { VersionNegotiationMode } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import { api, eventually } from '../support/approval.js';
import { testDatabase } from '../support/clickhouse.js';
import { collectEvents } from '../support/event-collector.js';
import type { EventCollector } from '../support/event-collector.js';
import { bodies, expectAbsent, gatewayCallers, rawEvents } from '../support/gateway-callers.js';
import { startFixtureRecorder } from '../support/gateway.js';
import { startMcpGatewayFixture } from '../support/mcp-gateway.js';
import type { McpGatewayFixture } from '../support/mcp-gateway.js';

let fx: McpGatewayFixture;
let events: EventCollector;
let db: Awaited<ReturnType<typeof testDatabase>>;
let recorder: Recorder;
const { token, recorded, sub, tokens } = gatewayCallers(
  () => fx.idp,
  () => events,
);

async function connect(t: string, mode: VersionNegotiationMode = { pin: '2026-07-28' }): Promise<Client> {
  const client = new Client({ name: 'gatehouse-test', version: '1' }, { versionNegotiation: { mode } });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(fx.endpoint()), {
      authProvider: { token: () => Promise.resolve(t) },
    }),
  );
  return client;
}

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
  expectAbsent(rawEvents(events), tokens);
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
        return r.body.approvals?.find((a) => a.requester.sub === sub('person-d'));
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
        sql`SELECT session_id, request_kind, decision FROM events WHERE identity_sub = ${sub('agent-c')} AND kind IN ('request', 'decision') ORDER BY seq`,
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
      `http://127.0.0.1:${recorder.httpPort}/v1/sessions?identity=${encodeURIComponent(sub('agent-c'))}`,
      { headers: { authorization: `Bearer ${analyst}` } },
    );
    const sessions = ((await listed.json()) as { sessions: { sessionId?: string; protocol: string }[] })
      .sessions;
    expect(sessions.map((x) => x.protocol)).toEqual(['mcp']);
    // The agent's masked listing as the client saw it, replayed.
    const a = await db.ch.query<{ session_id: string }>(
      sql`SELECT session_id FROM events WHERE identity_sub = ${sub('agent-a')} AND kind = 'session_opened'`,
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
