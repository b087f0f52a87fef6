import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ExchangeAbort } from './exchange-abort.js';
import type { Exchange } from './proxy-exchange.js';
import { relayResponse } from './relay-response.js';
import { createHttpMasker } from './response-masker.js';

/** Every byte value, then multi-byte UTF-8: a buffered body must reach the client as these exact bytes. */
const BODY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from('{"name":"Zoë — 東京 🚀"}'),
]);

/** Relays a buffered upstream response through a real node:http server; what the client got and how it was written. */
async function relayed(): Promise<{ status: number; bytes: Buffer; writevs: number[]; frames: string[] }> {
  const frames: string[] = [];
  const writevs: number[] = [];
  const server = createServer((req, res) => {
    // Node's socket internals: how the response reached the kernel (one writev of N chunks, or writes).
    const socket = req.socket as typeof req.socket & {
      _writeGeneric(writev: boolean, data: unknown[], encoding: string, cb: () => void): void;
    };
    const generic = socket._writeGeneric.bind(socket);
    socket._writeGeneric = (writev, data, encoding, cb) => {
      writevs.push(writev ? data.length : 1);
      generic(writev, data, encoding, cb);
    };
    const x = {
      session: { audit: { batched: (b: { value: { frame: string } }) => frames.push(b.value.frame) } },
      res,
      abort: new ExchangeAbort(),
      config: {
        recordResponseHeaders: ['content-type', 'content-length'],
        recordResponseBytes: 65_536,
        maxMaskedResponseBytes: 1_048_576,
      },
    } as unknown as Exchange;
    const response = {
      status: 200,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(BODY.length) },
      body: { kind: 'buffered', bytes: BODY },
    } as const;
    void relayResponse(x, { requestId: 1, method: 'GET', masker: createHttpMasker([], []), response });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/`);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, bytes, writevs, frames };
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

describe('relayResponse, a small buffered body', () => {
  it('reaches the client byte for byte, head and body in one writev, head and body recorded', async () => {
    const r = await relayed();
    expect(r.status).toBe(200);
    expect(r.bytes.equals(BODY)).toBe(true);
    expect(r.writevs).toEqual([3]); // head, body and the empty chunk \`end\` adds: one syscall
    expect(r.frames).toEqual(['http.head', 'http.body']);
  });
});
