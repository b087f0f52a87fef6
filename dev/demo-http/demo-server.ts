import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request as the demo API saw it (debug route `/debug/seen`): what the gateway really sent upstream. */
export type SeenRequest = {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | null;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
};

export type DemoHttpOptions = {
  host?: string;
  port?: number;
  /** The only credential accepted (`Authorization: Bearer <token>`): the gateway's own. */
  token: string;
  /** Requests remembered for `/debug/seen`. */
  maxSeen?: number;
};

export type RunningDemoHttp = {
  readonly url: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
};

const CUSTOMERS = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', card_number: '4111 1111 1111 1111', note: 'VIP' },
  {
    id: 2,
    name: 'Alan Turing',
    email: 'alan@example.org',
    card_number: '5500 0000 0000 0004',
    note: 'write to alan@example.org',
  },
  { id: 3, name: 'Grace Hopper', email: 'grace@example.net', card_number: '3400 0000 0000 009', note: '' },
];

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/**
 * The demo upstream API of the local stack and the HTTP proxy tests (plain `node:http`, no framework):
 * - `GET /customers` → `{customers: [{id, name, email, card_number, note}]}`; `DELETE /customers/{id}` → 204 / 404;
 * - `POST /upload` → `{bytes, sha256, chunked}` of the body it received;
 * - `GET /large?bytes=N` → N bytes of `application/octet-stream` (`&type=json`: a JSON object of N bytes), streamed
 *   in 64 KiB chunks with backpressure;
 * - `GET /slow?ms=N` → headers only after N ms; `GET /fail` → 500;
 * - `GET /cut?after=N` → headers and N of 2N announced bytes, then the connection is reset (`after=0`: at once,
 *   no headers); `GET /stall?after=N` → the same but silence instead of a reset (`&type=json` for a JSON body);
 * - debug (not through the gateway): `GET /debug/seen` (requests with the Authorization header they carried),
 *   `POST /debug/reset`, `GET /healthz`.
 * Every other route needs the gateway's token (401 otherwise).
 */
export async function startDemoHttpServer(o: DemoHttpOptions): Promise<RunningDemoHttp> {
  const seen: SeenRequest[] = [];
  let customers = CUSTOMERS.map((c) => ({ ...c }));
  const maxSeen = o.maxSeen ?? 1000;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname === '/healthz') return json(res, 200, { ok: true });
    if (url.pathname === '/debug/seen') return json(res, 200, { requests: seen });
    if (url.pathname === '/debug/reset') {
      seen.length = 0;
      customers = CUSTOMERS.map((c) => ({ ...c }));
      return json(res, 200, { ok: true });
    }
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization ?? null,
      headers: req.headers,
    });
    if (seen.length > maxSeen) seen.shift();
    if (req.headers.authorization !== `Bearer ${o.token}`) return json(res, 401, { error: 'unauthorized' });
    const id = /^\/customers\/(\d+)$/.exec(url.pathname)?.[1];
    if (req.method === 'GET' && url.pathname === '/customers') return json(res, 200, { customers });
    if (req.method === 'DELETE' && id !== undefined) {
      const before = customers.length;
      customers = customers.filter((c) => c.id !== Number(id));
      if (customers.length === before) return json(res, 404, { error: 'no such customer' });
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of req) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      return json(res, 200, {
        bytes,
        sha256: hash.digest('hex'),
        chunked: req.headers['transfer-encoding'] === 'chunked',
      });
    }
    if (req.method === 'GET' && url.pathname === '/large') {
      const size = Number(url.searchParams.get('bytes') ?? '0');
      const isJson = url.searchParams.get('type') === 'json';
      res.writeHead(200, {
        'content-type': isJson ? 'application/json' : 'application/octet-stream',
        'content-length': String(size),
      });
      // JSON: `{"pad":"aaa…"}`, exactly `size` bytes.
      let left = isJson ? size - 10 : size;
      if (isJson) res.write('{"pad":"');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(chunk.subarray(0, n))) await new Promise((r) => res.once('drain', r));
      }
      res.end(isJson ? '"}' : undefined);
      return;
    }
    if (req.method === 'GET' && (url.pathname === '/cut' || url.pathname === '/stall')) {
      // Headers and the first `after` bytes of a body twice as long, then a reset (`/cut`) or silence (`/stall`).
      const after = Number(url.searchParams.get('after') ?? '0');
      const isJson = url.searchParams.get('type') === 'json';
      if (url.pathname === '/cut' && after === 0) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, {
        'content-type': isJson ? 'application/json' : 'application/octet-stream',
        'content-length': String(after * 2),
      });
      res.write(isJson ? `{"pad":"${'a'.repeat(Math.max(0, after - 8))}` : Buffer.alloc(after, 0x62));
      if (url.pathname === '/cut') setTimeout(() => req.socket.destroy(), 50);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/slow') {
      await sleep(Number(url.searchParams.get('ms') ?? '1000'));
      return json(res, 200, { slow: true });
    }
    if (url.pathname === '/fail') return json(res, 500, { error: 'upstream exploded' });
    return json(res, 404, { error: 'not found' });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
