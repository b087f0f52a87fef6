/**
 * HTTP pass-through requests per second in one run, same upstream, four paths:
 * - direct: the client to a minimal upstream (node:http, a 1 KiB JSON answer, keep-alive);
 * - nginx (Debian, `deploy/stack/install.sh`) as a plain reverse proxy: one worker, keep-alive to the upstream,
 *   buffered access log — run as its own instance with a temporary prefix, never the system service;
 * - node floor: a bare Node reverse proxy (node:http + the undici dispatch the gateway uses; no token, policy or
 *   audit), its own process: what Node's HTTP machinery alone costs on this machine;
 * - a Gatehouse node (`gatehouse gateway --config FILE`, its own process): token check, policy per request,
 *   credential injection, every request, decision and response recorded to the stack's Kafka (SASL/TLS).
 * For each: req/s at a fixed concurrency (undici, N parallel loops over N keep-alive connections), latency p50/p99,
 * and the CPU time per request of every server process (utime+stime from /proc/PID/stat). The Kafka brokers' CPU is
 * also read with no gateway traffic (the other paths' windows, and a few idle seconds each round), so their cost per
 * gateway request is printed net of that background; the gateway's publisher counters give its produce rounds/s.
 *
 *   npm run stack:up && npm run bench:http -- [--seconds 10] [--concurrency 16] [--profile DIR] [--linger-ms N]
 *     [--baseline CHECKOUT] [--baseline-linger-ms N] [--baseline-node-flags "…"] [--rounds N] [--gateway-only]
 *
 * `--profile DIR` runs the gateway with `node --cpu-prof` and leaves the profile in DIR. `--baseline CHECKOUT`
 * also runs the gateway of another built checkout (its bin/gatehouse.js, same config, its own port) beside this one, for
 * an A/B in one run (its profile in DIR/baseline); `--baseline-linger-ms N` gives the baseline another publisher linger
 * (with `--baseline .`, an A/B of the linger alone: the brokers' CPU per request follows the produce rounds). `--rounds N` splits each path's seconds into N windows taken in
 * turn (direct, nginx, baseline, gateway, direct, …) so a neighbour's load falls on every path alike.
 * `--node-flags "…"` passes V8/Node flags to the gateways (`--max-semi-space-size=64`, `--trace-deopt`);
 * `--baseline-node-flags "…"` gives the baseline other ones (with `--baseline .`, an A/B of the flags alone).
 * `--gateway-only` skips direct, nginx and the floor. Each gateway is one process. Ports 25000-25099.
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
import { BROKERS, FLOOR, NGINX, report, rowOf } from './support/http-bench-report.js';
import type { Counters, Window } from './support/http-bench-report.js';
import { nginxConf, nodeFloorScript, upstreamScript } from './support/http-bench-servers.js';
import { childPids, processCpuMicros } from './support/proc-cpu.js';
import { kafkaBrokerProcesses } from './support/stack-processes.js';

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
    'node-flags': { type: 'string' },
    'baseline-node-flags': { type: 'string' },
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
  floor: 25008,
} as const;
/** Seconds per round with no traffic at all, for the brokers' background (besides the non-gateway paths' windows). */
const IDLE_SECONDS = 3;
/**
 * Warm-up before each window: longer before a path's first (connections, sessions opened, and V8's optimising
 * compiler: `perf record` of a gateway showed ~35 % of its CPU in TurboFan over its first 5 s of traffic, under 3 %
 * after), so a short window measures the steady state rather than the start.
 */
const WARMUP_SECONDS = { first: 6, next: 2 } as const;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-http-'));
const children: ChildService[] = [];

function start(name: string, command: string, args: readonly string[]): ChildService {
  const child = startChildService(name, command, args, join(dir, `${name}.log`));
  children.push(child);
  return child;
}

const ready = (service: ChildService, url: string, timeoutMs = 60_000) =>
  waitReady(service, `an answer at ${url}`, () => httpOk(url), timeoutMs);

/** utime + stime of processes, µs (0 for one that is gone). */
const cpuOf = (pids: readonly number[]) => pids.reduce((a, pid) => a + (processCpuMicros(pid) ?? 0), 0);

/** A gateway's publisher counters (produce rounds, records acknowledged) from its /metrics; {} for a build without them. */
async function publisherCounters(healthPort: number | undefined): Promise<Counters> {
  if (healthPort === undefined) return {};
  try {
    const res = await fetch(`http://127.0.0.1:${healthPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    const out: Counters = {};
    for (const name of ['rounds', 'records']) {
      const m = new RegExp(`^gatehouse_gateway_publish_${name}_total (\\S+)$`, 'm').exec(text);
      if (m) out[name] = Number(m[1]);
    }
    return out;
  } catch {
    return {}; // an older build (the baseline) or a slow scrape: the counters are left out of the report
  }
}

async function measure(
  path: string,
  origin: string,
  target: string,
  headers: Record<string, string>,
  processes: { name: string; pids: number[] }[],
  windowSeconds: number,
  warmupSeconds: number,
  healthPort?: number,
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
  await sleep(warmupSeconds * 1000);
  const counters0 = await publisherCounters(healthPort);
  const cpu0 = processes.map((p) => cpuOf(p.pids));
  recording = true;
  const t0 = performance.now();
  await sleep(windowSeconds * 1000);
  recording = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = processes.map((p) => cpuOf(p.pids));
  const counters1 = await publisherCounters(healthPort);
  stop = true;
  await Promise.all(loops);
  await pool.close();
  const counters: Counters = {};
  for (const k of Object.keys(counters1)) counters[k] = counters1[k]! - (counters0[k] ?? 0);
  return {
    elapsed,
    latencies,
    errors,
    cpu: processes.map((p, i) => ({ name: p.name, micros: cpu1[i]! - cpu0[i]! })),
    counters,
  };
}

/** The brokers' CPU with no request on any path (other users of the shared stack, replication, timers). */
async function idleWindow(brokers: readonly number[], windowSeconds: number): Promise<Window> {
  const cpu0 = cpuOf(brokers);
  const t0 = performance.now();
  await sleep(windowSeconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  return {
    elapsed,
    latencies: [],
    errors: 0,
    cpu: [{ name: BROKERS, micros: cpuOf(brokers) - cpu0 }],
    counters: {},
  };
}

const idp = await startIdp({ port: PORT.idp, audience: 'gatehouse' });
try {
  const upstream = start('upstream', process.execPath, ['-e', upstreamScript(PORT.upstream)]);
  await ready(upstream, `http://127.0.0.1:${PORT.upstream}/`);
  const upstreamOrigin = `http://127.0.0.1:${PORT.upstream}`;

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
      connections: [{ name: 'bench', protocol: 'http', upstream: { url: upstreamOrigin } }],
    };
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };
  // As deployed (deploy/cluster/cluster.sh): the compiled CLI, so no TypeScript loader runs in the measured process.
  ensureDist(false);

  // A person: policy allows reads with no masks on this connection, so the body passes through as it came.
  const token = await idp.issueToken({ user: 'bench-person', groups: ['engineering'] });
  const up = { name: 'upstream', pids: [upstream.pid] };
  // The client's own cost and the brokers' (shared with anyone else using the stack's Kafka) are read on every
  // path: all on the same cores as the servers measured; the brokers' CPU on the paths without a gateway is their
  // background.
  const client = { name: 'bench client', pids: [process.pid] };
  const brokerPids = kafkaBrokerProcesses().flatMap((b) => (b.pid === undefined ? [] : [b.pid]));
  const brokers = { name: BROKERS, pids: brokerPids };

  type Path = {
    label: string;
    measure: (windowSeconds: number, warmupSeconds: number) => Promise<Window>;
    gateway?: { idle: number };
  };
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
    const nodeFlags =
      port === PORT.baseline ? (values['baseline-node-flags'] ?? values['node-flags']) : values['node-flags'];
    const flags = nodeFlags?.split(' ').filter(Boolean) ?? [];
    const gateway = start(name, process.execPath, [
      ...flags,
      ...profile,
      bin,
      'gateway',
      '--config',
      configFile,
    ]);
    await ready(gateway, `http://127.0.0.1:${health}/readyz`, 120_000);
    // Background CPU with no traffic (timers, Kafka client), to tell it from the per-request cost.
    const idle0 = cpuOf([gateway.pid]);
    await sleep(3_000);
    return {
      label,
      gateway: { idle: (cpuOf([gateway.pid]) - idle0) / 3 },
      measure: (w, warmup) =>
        measure(
          label,
          `http://127.0.0.1:${port}`,
          '/bench/items',
          { authorization: `Bearer ${token}` },
          [{ name: 'gateway', pids: [gateway.pid] }, up, brokers, client],
          w,
          warmup,
          health,
        ),
    };
  };

  const paths: Path[] = [];
  if (!values['gateway-only']) {
    const prefix = join(dir, 'nginx');
    for (const d of ['', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      mkdirSync(join(prefix, d), { recursive: true });
    writeFileSync(join(prefix, 'nginx.conf'), nginxConf(prefix, PORT.nginx, PORT.upstream));
    const nginx = start('nginx', '/usr/sbin/nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')]);
    await ready(nginx, `http://127.0.0.1:${PORT.nginx}/`);
    const floor = start('node-floor', process.execPath, ['-e', nodeFloorScript(PORT.floor, upstreamOrigin)]);
    await ready(floor, `http://127.0.0.1:${PORT.floor}/`);
    const via = (label: string, port: number, server: { name: string; pids: number[] }): Path => ({
      label,
      measure: (w, warmup) =>
        measure(label, `http://127.0.0.1:${port}`, '/items', {}, [server, up, brokers, client], w, warmup),
    });
    paths.push({
      label: 'direct',
      measure: (w, warmup) =>
        measure('direct', upstreamOrigin, '/items', {}, [up, brokers, client], w, warmup),
    });
    paths.push(via(NGINX, PORT.nginx, { name: 'nginx workers', pids: childPids(nginx.pid) }));
    paths.push(via(FLOOR, PORT.floor, { name: 'node floor', pids: [floor.pid] }));
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
  // Rounds interleave the paths, so a neighbour's load on the shared cores falls on each of them alike; each round
  // starts with a few seconds of no traffic (the brokers' background).
  const windows = paths.map(() => [] as Window[]);
  const idle: Window[] = [];
  for (let round = 0; round < rounds; round++) {
    idle.push(await idleWindow(brokerPids, IDLE_SECONDS));
    const warmup = round === 0 ? WARMUP_SECONDS.first : WARMUP_SECONDS.next;
    // Every other round in reverse order: the path measured first after the idle window read ~9 % more CPU per
    // request in an A/A run (same build on both sides), so no path may always come first.
    const order = [...paths.keys()];
    if (round % 2 === 1) order.reverse();
    for (const i of order) windows[i]!.push(await paths[i]!.measure(seconds / rounds, warmup));
  }
  const rows = paths.map((p, i) => rowOf(p.label, windows[i]!));
  process.stdout.write(report({ seconds, rounds, concurrency, dir, topic }, paths, rows, idle));
} finally {
  for (const c of children.reverse()) await c.stop();
  await idp.stop();
  if (!values.profile) rmSync(join(dir, 'nginx'), { recursive: true, force: true });
}
