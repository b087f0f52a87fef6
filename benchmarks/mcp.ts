/**
 * MCP tool calls per second in one run: the SDK client calling `list_customers` on the demo MCP server directly,
 * and through a Gatehouse node (token check, policy per message, masking by field path — plus every content
 * detector for the agent — and every message recorded to Kafka), as a person and as an agent.
 *
 *   npm run stack:up && npm run bench:mcp -- [--calls 2000] [--concurrency 8] [--revision 2026-07-28|legacy]
 *
 * The gateway, the demo server and the clients share this process (as in benchmarks/ssh.ts), so the numbers are
 * a floor for a dedicated node.
 */
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { VersionNegotiationMode } from '@modelcontextprotocol/client';
import { startMcpGatewayFixture } from '../test/support/mcp-gateway.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    revision: { type: 'string', default: '2026-07-28' },
  },
});
const calls = Math.max(1, Number(values.calls));
const concurrency = Math.max(1, Number(values.concurrency));
const mode: VersionNegotiationMode = values.revision === 'legacy' ? 'legacy' : { pin: values.revision };

type Row = { path: string; callsPerSecond: number; p50: number; p99: number };

async function client(url: string, token: string): Promise<Client> {
  const c = new Client({ name: 'gatehouse-bench', version: '1' }, { versionNegotiation: { mode } });
  await c.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      authProvider: { token: () => Promise.resolve(token) },
    }),
  );
  return c;
}

async function measure(path: string, url: string, token: string): Promise<Row> {
  const clients = await Promise.all(Array.from({ length: concurrency }, () => client(url, token)));
  const call = (c: Client) => c.callTool({ name: 'list_customers', arguments: { limit: 4 } });
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < 20; i++) await call(c);
    }),
  );
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (next++ < calls) {
        const s = performance.now();
        const r = await call(c);
        if (r.isError) throw new Error(`${path}: the call failed`);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(clients.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { path, callsPerSecond: latencies.length / seconds, p50: q(0.5), p99: q(0.99) };
}

const fx = await startMcpGatewayFixture();
try {
  const person = await fx.idp.issueToken({ user: 'bench-person', groups: ['engineering'] });
  const agent = await fx.idp.issueToken({ user: 'bench-agent', agent: true, groups: ['agents'] });
  const rows = [
    await measure('direct (upstream, no gateway)', fx.upstream.url, fx.upstreamToken),
    await measure('gateway, person (field-path masking)', fx.endpoint(), person),
    await measure('gateway, agent (paths + all detectors)', fx.endpoint(), agent),
  ];
  const direct = rows[0]!.callsPerSecond;
  process.stdout.write(
    `\nMCP tools/call list_customers: ${calls} calls, concurrency ${concurrency}, revision ${values.revision}\n\n` +
      `| path | calls/s | vs direct | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|\n` +
      rows
        .map(
          (r) =>
            `| ${r.path} | ${r.callsPerSecond.toFixed(0)} | ${(r.callsPerSecond / direct).toFixed(2)}× | ` +
            `${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
        )
        .join('\n') +
      '\n',
  );
} finally {
  await fx.stop();
}
