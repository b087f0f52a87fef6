import { mkdtempSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { selfSignedCert } from '../../test/support/gateway.js';
import { startNodeFloor } from './pgbench-floor.js';
import type { NodeFloor } from './pgbench-floor.js';
import { compareWithFloor } from './pgbench-targets.js';
import type { PathRun } from './pgbench-targets.js';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const GSSENC_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const firstByte = (socket: Socket) =>
  new Promise<string>((resolve) => socket.once('data', (b: Buffer) => resolve(b.toString('latin1'))));

describe('the node-floor relay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgbench-floor-'));
  // A stand-in for PostgreSQL that echoes, upper-cased, whatever reaches it: the relay must pass bytes untouched.
  const upstream = createServer((s) =>
    s.on('data', (b: Buffer) => s.write(b.toString('latin1').toUpperCase())),
  );
  let floor: NodeFloor | undefined;
  afterAll(async () => {
    await floor?.stop();
    upstream.close();
  });

  it('answers GSSENCRequest N and SSLRequest S, terminates TLS and relays bytes both ways', async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const tls = selfSignedCert(dir);
    floor = await startNodeFloor({
      dir,
      port: await freePort(),
      upstream: { host: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
      tls,
      readyTimeoutMs: 30_000,
    });
    const raw = connect({ host: '127.0.0.1', port: floor.port });
    raw.write(GSSENC_REQUEST);
    expect(await firstByte(raw)).toBe('N');
    raw.write(SSL_REQUEST);
    expect(await firstByte(raw)).toBe('S');
    const client = tlsConnect({ socket: raw, rejectUnauthorized: false });
    await new Promise((resolve) => client.once('secureConnect', resolve));
    client.write('select 1');
    expect(await firstByte(client)).toBe('SELECT 1');
    client.destroy();
  }, 60_000);
});

describe('compareWithFloor', () => {
  const run = (path: PathRun['path'], tps: number, cpu: Record<string, number>) =>
    ({
      path,
      label: path,
      clients: 4,
      seconds: 10,
      windowMs: 10_000,
      result: { tps, transactions: tps * 10, latencyAvgMs: 1, p50Us: 100, p99Us: 200 },
      cpuMicros: cpu,
      cpuPerTxMicros: {},
    }) satisfies PathRun;

  it('puts the floor against PgBouncer-TLS and each gateway path, TPS and CPU per transaction', () => {
    const runs = [
      run('pgbouncer-tls', 8000, { pgbouncer: 4_000_000 }), // 50 µs/tx
      run('node-floor', 6000, { 'node-floor': 6_000_000 }), // 100 µs/tx
      run('gateway', 3000, { gateway: 7_500_000 }), // 250 µs/tx
    ];
    expect(compareWithFloor(runs, 4)).toEqual([
      'floor: 6000 TPS, 100.0 µs CPU per transaction',
      'floor / PgBouncer-TLS: 0.75x TPS; CPU 100.0 vs 50.0 µs/tx',
      'gateway / floor: 0.50x TPS; CPU 250.0 vs 100.0 µs/tx (150.0 µs/tx above the floor)',
    ]);
    expect(compareWithFloor(runs, 1)).toEqual([]);
  });
});
