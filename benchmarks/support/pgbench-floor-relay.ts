/**
 * The runtime's floor for `bench:pgbench` (path `node-floor`): a bare Node TLS relay, run as its own process. It does
 * what any Node PostgreSQL proxy must and nothing else — answers the client's SSLRequest, terminates TLS with the
 * gateway's certificate (a `TLSSocket` over the accepted socket, as the gateway's login does) and relays bytes both
 * ways to PostgreSQL over plain TCP with no delay (the gateway's upstream transport). No protocol parsing, policy or
 * audit: the client logs in to PostgreSQL itself, through the relay.
 *
 *   node --import tsx benchmarks/support/pgbench-floor-relay.ts PORT UPSTREAM_HOST UPSTREAM_PORT CERT KEY
 */
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';

const [port, upstreamHost, upstreamPort, cert, key] = process.argv.slice(2);
if (key === undefined)
  throw new Error('usage: pgbench-floor-relay PORT UPSTREAM_HOST UPSTREAM_PORT CERT KEY');
const secureContext = createSecureContext({ cert: readFileSync(cert!), key: readFileSync(key) });

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/** Relays `from` to `to` with backpressure (on 'data' and write, as the gateway's session does). */
function relay(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('close', () => to.destroy());
  from.on('error', () => from.destroy());
}

/** Reads the 8-byte negotiation requests (GSSENCRequest refused, SSLRequest accepted), then upgrades to TLS. */
function accept(raw: Socket): void {
  let pending = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const code = pending.readInt32BE(4);
      pending = pending.subarray(8);
      if (code === GSSENC_REQUEST) {
        raw.write('N');
        continue;
      }
      raw.off('data', onData);
      if (code !== SSL_REQUEST || pending.length > 0) {
        raw.destroy(); // a floor for TLS clients only (pgbench with sslmode=require)
        return;
      }
      raw.write('S');
      const client = new TLSSocket(raw, { isServer: true, secureContext });
      const upstream = connect({ host: upstreamHost!, port: Number(upstreamPort) });
      upstream.setNoDelay(true);
      relay(client, upstream);
      relay(upstream, client);
      return;
    }
  };
  raw.on('data', onData);
  raw.on('error', () => raw.destroy());
}

const server = createServer({ noDelay: true }, accept);
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
