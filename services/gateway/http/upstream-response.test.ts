import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeAbort } from './exchange-abort.js';
import { HttpProxyError } from './errors.js';
import { failedMidBody, HttpUpstream } from './upstream.js';
import type { UpstreamResponse } from './upstream.js';

const BODY = Buffer.from(JSON.stringify({ items: [1, 2, 3] }));
const NONE = { kind: 'buffered', bytes: Buffer.alloc(0) } as const;

/** A raw upstream: /small (Content-Length), /chunked (no length), /cut (reset after part of a declared body). */
let server: Server;
let upstream: HttpUpstream;
const seen: { url: string | undefined; closed: boolean }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const s = { url: req.url, closed: false };
    seen.push(s);
    res.on('close', () => (s.closed = !res.writableFinished));
    if (req.url === '/small') res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
    else if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(BODY.subarray(0, 5));
      setTimeout(() => res.end(BODY.subarray(5)), 20);
    } else if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(100));
      setTimeout(() => res.destroy(), 20);
    } else if (req.url === '/never') res.writeHead(200, { 'content-length': 1000 }).write('x');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  upstream = new HttpUpstream({
    url: `http://127.0.0.1:${port}`,
    auth: { type: 'none' },
    connections: 4,
    headersTimeoutMs: 2000,
    bodyTimeoutMs: 2000,
  });
});

afterAll(async () => {
  await upstream.close();
  server.closeAllConnections();
  server.close();
});

const send = (path: string, abort = new ExchangeAbort(), bufferBytes = 64 * 1024) =>
  upstream.send('GET', path, {}, NONE, abort, bufferBytes);

async function text(r: UpstreamResponse): Promise<string> {
  if (r.body.kind === 'buffered') return r.body.bytes.toString();
  const chunks: Buffer[] = [];
  for await (const c of r.body.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('HttpUpstream.send (dispatch handler)', () => {
  it('hands over a body within bufferBytes read whole (one Buffer, no stream), headers lower-case', async () => {
    const r = await send('/small');
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe('buffered');
    expect(r.headers['content-length']).toBe(String(BODY.length));
    expect(await text(r)).toBe(BODY.toString());
  });

  it('streams a body over bufferBytes or without a length', async () => {
    const over = await send('/small', new ExchangeAbort(), BODY.length - 1);
    expect(over.body.kind).toBe('streamed');
    expect(await text(over)).toBe(BODY.toString());
    const chunked = await send('/chunked');
    expect(chunked.body.kind).toBe('streamed');
    expect(await text(chunked)).toBe(BODY.toString());
  });

  it('marks a buffered body that fails after its headers (the upstream failed while answering)', async () => {
    const err = await send('/cut').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpProxyError);
    expect(failedMidBody(err)).toBe(true);
  });

  it("the exchange's abort aborts the upstream request", async () => {
    const abort = new ExchangeAbort();
    const pending = send('/never', abort).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    expect(await pending).toBeInstanceOf(HttpProxyError);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.find((s) => s.url === '/never')?.closed).toBe(true);
  });
});

describe('ExchangeAbort', () => {
  it('runs its callback once, at once when already aborted, and makes a signal only on request', () => {
    const a = new ExchangeAbort();
    let calls = 0;
    a.whenAborted(() => calls++);
    a.abort();
    a.abort();
    expect(calls).toBe(1);
    expect(a.signal.aborted).toBe(true);
    a.whenAborted(() => calls++);
    expect(calls).toBe(2);
    const b = new ExchangeAbort();
    const signal = b.signal;
    expect(signal.aborted).toBe(false);
    b.abort();
    expect(signal.aborted).toBe(true);
  });
});
