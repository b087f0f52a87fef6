import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS } from '../../dev/embedded/embedded-configs.js';
import { startEmbedded } from '../../dev/embedded/start-embedded.js';
import type { RunningEmbedded } from '../../dev/embedded/start-embedded.js';
import { requestToken } from '../../dev/idp/index.js';
import { testLogger } from '../support/kafka.js';

// `npm start` serves MCP tool calls and HTTP API calls too, on the same code paths as the cluster: the in-process
// demo MCP server and HTTP API behind the gateway's MCP and HTTP listeners, recorded into the embedded store.
let dir: string;
let running: RunningEmbedded;
let agent: string;

const token = async (user: string, opts: { agent?: boolean; groups?: string[] }) =>
  (
    await requestToken(running.env.GATEHOUSE_OIDC_ISSUER, {
      user,
      agent: opts.agent ?? false,
      groups: opts.groups,
    })
  ).accessToken;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-embedded-mcp-http-'));
  running = await startEmbedded({ dir, ports: EPHEMERAL_PORTS, logger: testLogger });
  agent = await token('agent-emb', { agent: true, groups: ['agents'] });
}, 120_000);

afterAll(async () => {
  await running?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('embedded mode: MCP and HTTP through the gateway', () => {
  it('an agent lists customers over HTTP and is refused a DELETE; the upstream token never reaches the client', async () => {
    const base = running.env.GATEHOUSE_HTTP_URL;
    const list = await fetch(`${base}/customers`, { headers: { authorization: `Bearer ${agent}` } });
    expect(list.status).toBe(200);
    const text = await list.text();
    const { customers } = JSON.parse(text) as { customers: { email: string }[] };
    expect(customers.length).toBeGreaterThan(0);
    // The same masking as in the cluster: no e-mail address leaves the node for an agent.
    expect(text).not.toContain('ada@example.com');
    const del = await fetch(`${base}/customers/1`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${agent}` },
    });
    expect(del.status).toBe(403);
    const upstreamToken = readFileSync(join(dir, 'keys', 'demo-http.token'), 'utf8').trim();
    expect(text).not.toContain(upstreamToken);
    const unauthenticated = await fetch(`${base}/customers`);
    expect(unauthenticated.status).toBe(401);
  });

  it("an agent's MCP tools/call is decided per call: list_customers runs, delete_customer is denied", async () => {
    const client = new Client({ name: 'embedded-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(running.env.GATEHOUSE_MCP_URL), {
        authProvider: { token: () => Promise.resolve(agent) },
      }),
    );
    const listed = await client.callTool({ name: 'list_customers', arguments: { limit: 1 } });
    expect(listed.isError ?? false).toBe(false);
    const err = await client.callTool({ name: 'delete_customer', arguments: { id: 2 } }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; message: string },
    );
    expect(err?.code).toBe(-32003);
    expect(err?.message).toContain('denied for agents');
    await client.close();
  });

  it('the recorder lists the MCP and HTTP sessions from the embedded store', async () => {
    const soc = await token('sam', { groups: ['soc'] });
    await expect
      .poll(
        async () => {
          const r = await fetch(`${running.env.GATEHOUSE_RECORDER_URL}/v1/sessions?limit=50`, {
            headers: { authorization: `Bearer ${soc}` },
          });
          const body = (await r.json()) as { sessions: { protocol: string; connection: string }[] };
          return new Set(body.sessions.map((s) => `${s.protocol}:${s.connection}`));
        },
        { timeout: 30_000, interval: 500 },
      )
      .toEqual(new Set(['http:demo-http', 'mcp:demo-mcp']));
  });
});
