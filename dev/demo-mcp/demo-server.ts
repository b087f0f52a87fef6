import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { CustomerStore } from './customers.js';
import { demoMcpServer } from './demo-tools.js';
import type { DemoState } from './demo-tools.js';

export type DemoServerOptions = {
  host?: string;
  port?: number;
  /** The bearer token the gateway must present (its own credential for this upstream). */
  token: string;
  /** Largest request body read (bytes). */
  maxBodyBytes?: number;
  /** Authorization header values remembered for `/debug/seen` (the newest ones). */
  maxSeen?: number;
};

export type RunningDemoServer = {
  readonly url: string;
  readonly port: number;
  readonly state: DemoState;
  /** Every Authorization header value the server received, oldest first (bounded). */
  readonly seenAuthorizations: readonly string[];
  close(): Promise<void>;
};

function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > max) {
        resolve(undefined);
        req.destroy();
        return;
      }
      parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The demo upstream MCP server (Streamable HTTP on `/mcp`, both the 2026-07-28 per-request revision and the
 * 2025-era stateless fallback of the SDK's `createMcpHandler`). It accepts only the configured bearer token and
 * remembers every Authorization header it saw, so tests can prove an agent's token never reaches it.
 * Debug routes (loopback demo only): `GET /debug/seen`, `POST /debug/poison`, `POST /debug/reset`, `GET /healthz`.
 */
export async function startDemoMcpServer(opts: DemoServerOptions): Promise<RunningDemoServer> {
  const state: DemoState = { store: new CustomerStore(), poisoned: false };
  const seen: string[] = [];
  const maxSeen = opts.maxSeen ?? 1000;
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const handler = createMcpHandler(() => demoMcpServer(state), { maxRequestBodySize: maxBody });
  const expected = `Bearer ${opts.token}`;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return json(res, 200, { ok: true });
    if (path === '/debug/seen') return json(res, 200, { authorizations: seen });
    if (path === '/debug/poison' && req.method === 'POST') {
      state.poisoned = true;
      return json(res, 200, { poisoned: true });
    }
    if (path === '/debug/reset' && req.method === 'POST') {
      state.poisoned = false;
      state.store.reset();
      seen.length = 0;
      return json(res, 200, { reset: true });
    }
    if (path !== '/mcp') return json(res, 404, { error: 'not found' });
    const auth = req.headers.authorization ?? '';
    seen.push(auth);
    if (seen.length > maxSeen) seen.shift();
    if (auth !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="demo-mcp"' });
      res.end();
      return;
    }
    const body = req.method === 'POST' ? await readBody(req, maxBody) : undefined;
    if (req.method === 'POST' && body === undefined) return json(res, 413, { error: 'body too large' });
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string') headers.set(k, v);
      else if (Array.isArray(v)) headers.set(k, v.join(', '));
    }
    const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body !== undefined ? { body: new Uint8Array(body) } : {}),
    });
    const response = await handler.fetch(request);
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    res.writeHead(response.status, out);
    if (response.body === null) {
      res.end();
      return;
    }
    for await (const chunk of response.body) res.write(chunk);
    res.end();
  }

  const server: Server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: (err as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}/mcp`,
    port,
    state,
    seenAuthorizations: seen,
    async close() {
      await handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
