/**
 * HTTP pass-through requests per second in one run, same upstream, three paths:
 * - direct: the client to a minimal upstream (node:http, a 1 KiB JSON answer, keep-alive);
 * - nginx (Debian, `deploy/stack/install.sh`) as a plain reverse proxy: one worker, keep-alive to the upstream,
 *   buffered access log — run as its own instance with a temporary prefix, never the system service;
 * - a Gatehouse node (`gatehouse gateway --config FILE`, its own process): token check, policy per request,
 *   credential injection, every request, decision and response recorded to the stack's Kafka (SASL/TLS).
 * For each: req/s at a fixed concurrency (undici, N parallel loops over N keep-alive connections), latency p50/p99,
 * and the CPU time per request of every server process (utime+stime from /proc/PID/stat).
 *
 *   npm run stack:up && npm run bench:http -- [--seconds 10] [--concurrency 16] [--profile DIR] [--linger-ms N]
 *     [--baseline CHECKOUT] [--baseline-linger-ms N] [--rounds N] [--gateway-only]
 *
 * `--profile DIR` runs the gateway with `node --cpu-prof` and leaves the profile in DIR. `--baseline CHECKOUT`
 * also runs the gateway of another built checkout (its bin/gatehouse.js, same config, its own port) beside this one, for
 * an A/B in one run (its profile in DIR/baseline); `--baseline-linger-ms N` gives the baseline another publisher linger
 * (with `--baseline .`, an A/B of the linger alone: the brokers' CPU per request follows the produce rounds). `--rounds N` splits each path's seconds into N windows taken in
 * turn (direct, nginx, baseline, gateway, direct, …) so a neighbour's load falls on every path alike.
 * `--gateway-only` skips direct and nginx. Each gateway is one process. Ports 25000-25099.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startIdp } from '../dev/idp/index.js';
import { buildPolicyBundle, fixtureKafkaSection, fixtureSessionsTopic } from '../test/support/gateway.js';
import { ensureDist } from './support/build-dist.js';
import type { ChildService } from './support/child-service.js';
import { httpOk, startChildService, waitReady } from './support/child-service.js';
import { GATEHOUSE_BIN } from './support/gatehouse-services.js';
import { childPids, processCpuMicros } from './support/proc-cpu.js';
import { kafkaBrokerProcesses } from './support/stack-processes.js';
import { percentile } from './support/stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    profile: { type: 'string' },
    'linger-ms': { type: 'string' },
    'baseline-linger-ms': { type: 'string' },
    'gateway-only': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '1' },
  },
});
const seconds = Math.max(1, Number(values.seconds));
const concurrency = Math.max(1, Number(values.concurrency));
const rounds = Math.max(1, Number(values.rounds));
const PORT = {
  upstream: 25001,
  nginx: 25002,
  gateway: 25003,
  health: 25004,
  idp: 25005,
  baseline: 25006,
  baselineHealth: 25007,
} as const;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-http-'));
const children: ChildService[] = [];

/** The upstream: node:http, one small JSON document, keep-alive; no framework, no logging. */
const UPSTREAM = `
const body = JSON.stringify({ items: Array.from({ length: 12 }, (_, i) => ({ id: i, name: 'item ' + i, tags: ['a', 'b'], price: i * 1.5 })) });
const server = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body));
});
server.keepAliveTimeout = 60000;
server.listen(${PORT.upstream}, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

function nginxConf(prefix: string): string {
  const asRoot = process.getuid?.() === 0 ? 'user root;' : '';
  return `${asRoot}
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${prefix}/access.log combined buffer=64k flush=1s;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream api { server 127.0.0.1:${PORT.upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${PORT.nginx};
    keepalive_requests 100000;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

function start(name: string, command: string, args: readonly string[]): ChildService {
  const child = startChildService(name, command, args, join(dir, `${name}.log`));
  children.push(child);
  return child;
}

const ready = (service: ChildService, url: string, timeoutMs = 60_000) =>
  waitReady(service, `an answer at ${url}`, () => httpOk(url), timeoutMs);

/** utime + stime of processes, µs (0 for one that is gone). */
const cpuOf = (pids: readonly number[]) => pids.reduce((a, pid) => a + (processCpuMicros(pid) ?? 0), 0);

type Row = {
  path: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpu: { name: string; usPerReq: number }[];
};

/** One measuring window's raw figures (rounds of the same path are summed into one row). */
type Window = {
  elapsed: number;
  latencies: number[];
  errors: number;
  cpu: { name: string; micros: number }[];
};

function rowOf(path: string, windows: readonly Window[]): Row {
  const latencies = windows.flatMap((w) => w.latencies).sort((a, b) => a - b);
  const done = latencies.length;
  const elapsed = windows.reduce((a, w) => a + w.elapsed, 0);
  const q = (p: number) => (done > 0 ? percentile(latencies, p) : NaN);
  return {
    path,
    rps: done / elapsed,
    p50: q(50),
    p99: q(99),
    errors: windows.reduce((a, w) => a + w.errors, 0),
    cpu: (windows[0]?.cpu ?? []).map((c, i) => ({
      name: c.name,
      usPerReq: windows.reduce((a, w) => a + w.cpu[i]!.micros, 0) / Math.max(1, done),
    })),
  };
}

async function measure(
  path: string,
  origin: string,
  target: string,
  headers: Record<string, string>,
  processes: { name: string; pids: number[] }[],
  windowSeconds = seconds,
): Promise<Window> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let recording = false;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const s = performance.now();
      try {
        const r = await pool.request({ path: target, method: 'GET', headers });
        await r.body.arrayBuffer();
        if (r.statusCode !== 200) throw new Error(`${path}: status ${r.statusCode}`);
        if (recording) latencies.push(performance.now() - s);
      } catch (err) {
        if (++errors === 1) process.stderr.write(`${path}: ${(err as Error).message}\n`);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await sleep(2_000); // warm-up: connections, JIT, sessions opened
  const cpu0 = processes.map((p) => cpuOf(p.pids));
  recording = true;
  const t0 = performance.now();
  await sleep(windowSeconds * 1000);
  recording = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = processes.map((p) => cpuOf(p.pids));
  stop = true;
  await Promise.all(loops);
  await pool.close();
  return {
    elapsed,
    latencies,
    errors,
    cpu: processes.map((p, i) => ({ name: p.name, micros: cpu1[i]! - cpu0[i]! })),
  };
}

const idp = await startIdp({ port: PORT.idp, audience: 'gatehouse' });
try {
  const upstream = start('upstream', process.execPath, ['-e', UPSTREAM]);
  await ready(upstream, `http://127.0.0.1:${PORT.upstream}/`);

  const prefix = join(dir, 'nginx');
  for (const d of ['', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(prefix, d), { recursive: true });
  writeFileSync(join(prefix, 'nginx.conf'), nginxConf(prefix));
  const nginx = start('nginx', '/usr/sbin/nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')]);
  await ready(nginx, `http://127.0.0.1:${PORT.nginx}/`);

  const topic = fixtureSessionsTopic('bench-http');
  const bundleDir = buildPolicyBundle();
  const configOf = (name: string, port: number, health: number, lingerMs = values['linger-ms']): string => {
    const file = join(dir, `${name}.json`);
    const config = {
      nodeId: `bench-http-${name}`,
      health: { host: '127.0.0.1', port: health },
      listeners: { http: { host: '127.0.0.1', port, allowPlaintext: true } },
      oidc: { issuer: idp.issuer, audience: 'gatehouse' },
      kafka: {
        ...fixtureKafkaSection(topic),
        ...(lingerMs ? { publisher: { lingerMs: Number(lingerMs) } } : {}),
      },
      policy: { bundleDir },
      connections: [
        { name: 'bench', protocol: 'http', upstream: { url: `http://127.0.0.1:${PORT.upstream}` } },
      ],
    };
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };
  // As deployed (deploy/cluster/cluster.sh): the compiled CLI, so no TypeScript loader runs in the measured process.
  ensureDist(false);

  // A person: policy allows reads with no masks on this connection, so the body passes through as it came.
  const token = await idp.issueToken({ user: 'bench-person', groups: ['engineering'] });
  const up = { name: 'upstream', pids: [upstream.pid] };
  // The audit's cost on the brokers (shared with anyone else using the stack's Kafka) and the client's own, all on
  // the same cores as the servers measured.
  const client = { name: 'bench client', pids: [process.pid] };
  const brokers = kafkaBrokerProcesses().flatMap((b) => (b.pid === undefined ? [] : [b.pid]));

  type Path = { label: string; measure: (windowSeconds: number) => Promise<Window>; idle?: number };
  /** A gateway build (`bin`: its bin/gatehouse.js) as its own process; one process, however many cores. */
  const gatewayPath = async (
    label: string,
    bin: string,
    port: number,
    health: number,
    profileDir: string | undefined,
  ): Promise<Path> => {
    const name = label.replace(/\W+/g, '-').replace(/-$/, '');
    const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    const configFile = configOf(
      name,
      port,
      health,
      port === PORT.baseline ? (values['baseline-linger-ms'] ?? values['linger-ms']) : values['linger-ms'],
    );
    const gateway = start(name, process.execPath, [...profile, bin, 'gateway', '--config', configFile]);
    await ready(gateway, `http://127.0.0.1:${health}/readyz`, 120_000);
    // Background CPU with no traffic (timers, Kafka client), to tell it from the per-request cost.
    const idle0 = cpuOf([gateway.pid]);
    await sleep(3_000);
    return {
      label,
      idle: (cpuOf([gateway.pid]) - idle0) / 3,
      measure: (w) =>
        measure(
          label,
          `http://127.0.0.1:${port}`,
          '/bench/items',
          { authorization: `Bearer ${token}` },
          [{ name: 'gateway', pids: [gateway.pid] }, up, { name: 'Kafka brokers', pids: brokers }, client],
          w,
        ),
    };
  };

  const paths: Path[] = [];
  if (!values['gateway-only']) {
    paths.push({
      label: 'direct',
      measure: (w) => measure('direct', `http://127.0.0.1:${PORT.upstream}`, '/items', {}, [up, client], w),
    });
    paths.push({
      label: 'nginx (1 worker)',
      measure: (w) =>
        measure(
          'nginx (1 worker)',
          `http://127.0.0.1:${PORT.nginx}`,
          '/items',
          {},
          [{ name: 'nginx workers', pids: childPids(nginx.pid) }, up, client],
          w,
        ),
    });
  }
  if (values.baseline)
    paths.push(
      await gatewayPath(
        'gatehouse baseline (policy + audit)',
        join(values.baseline, 'bin', 'gatehouse.js'),
        PORT.baseline,
        PORT.baselineHealth,
        values.profile ? join(values.profile, 'baseline') : undefined,
      ),
    );
  const self = await gatewayPath(
    'gatehouse (policy + audit)',
    GATEHOUSE_BIN,
    PORT.gateway,
    PORT.health,
    values.profile,
  );
  paths.push(self);
  // Rounds interleave the paths, so a neighbour's load on the shared cores falls on each of them alike.
  const windows = paths.map(() => [] as Window[]);
  for (let round = 0; round < rounds; round++)
    for (const [i, p] of paths.entries()) windows[i]!.push(await p.measure(seconds / rounds));
  const rows = paths.map((p, i) => rowOf(p.label, windows[i]!));
  const row = (label: string) => rows.find((r) => r.path === label);
  const viaGateway = row(self.label)!;
  const viaNginx = row('nginx (1 worker)');
  const direct = row('direct');
  const idle = paths
    .filter((p) => p.idle !== undefined)
    .map((p) => `${p.label} ${(p.idle! / 1000).toFixed(1)} ms/s`);
  const table = rows
    .map(
      (r) =>
        `| ${r.path} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ` +
        `${r.cpu.map((c) => `${c.name} ${c.usPerReq.toFixed(0)}`).join(', ')} |`,
    )
    .join('\n');
  const ratio = viaGateway.rps / (viaNginx?.rps ?? NaN);
  process.stdout.write(
    `\nHTTP GET pass-through (1 KiB JSON), ${seconds} s per path in ${rounds} interleaved round(s), ` +
      `concurrency ${concurrency}, one run; each gateway is one process\n\n` +
      `| path | req/s | p50 ms | p99 ms | errors | CPU µs/request |\n|---|---:|---:|---:|---:|---|\n${table}\n\n` +
      `gateway/nginx ${ratio.toFixed(2)}× (target ≥ 0.50×: ${ratio >= 0.5 ? 'met' : 'NOT met'}), ` +
      `gateway/direct ${(viaGateway.rps / (direct?.rps ?? NaN)).toFixed(2)}×, nginx/direct ${((viaNginx?.rps ?? NaN) / (direct?.rps ?? NaN)).toFixed(2)}×\n` +
      `gateway CPU with no traffic: ${idle.join(', ')}; sessions topic ${topic}; logs in ${dir}\n`,
  );
} finally {
  for (const c of children.reverse()) await c.stop();
  await idp.stop();
  if (!values.profile) rmSync(join(dir, 'nginx'), { recursive: true, force: true });
}
