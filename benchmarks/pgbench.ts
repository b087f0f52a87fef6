/**
 * Where the time goes on the PostgreSQL path. One run measures `pgbench -S -M prepared` direct to PostgreSQL,
 * through PgBouncer without and with client TLS, and through a Gatehouse node (TLS, token login, per-statement
 * policy, masking, audit to Kafka; the recorder writing ClickHouse) — at N clients and at 1 client — and prints for
 * each path TPS, latency and the CPU µs per transaction of every process on the machine's paths (gateway, each
 * Kafka broker, recorder, PgBouncer, PostgreSQL with its backends, ClickHouse), read from /proc.
 *
 *   npm run stack:up && npm run bench:pgbench -- [--seconds 15] [--clients 4] [--single-seconds 10]
 *        [--warmup 3] [--json FILE] [--profile] [--top 25] [--build] [--catch-up-timeout 60]
 *        [--paths direct,pgbouncer,pgbouncer-tls,node-floor,gateway]   (`--single-seconds 0`: no 1-client rows)
 *        [--rate TPS]   (a fixed total rate, pgbench -R: CPU per transaction compares across runs and loads)
 *        [--baseline CHECKOUT] [--rounds N]
 *
 * The path `node-floor` is the runtime's floor: a bare Node TLS relay in its own process
 * (`support/pgbench-floor-relay.ts`: the gateway's certificate, plain TCP to PostgreSQL, no parsing, policy or audit;
 * pgbench logs in to PostgreSQL through it). Its TPS and CPU are printed against PgBouncer-TLS's and the gateway's.
 *
 * `--baseline CHECKOUT` also runs the gateway of another built checkout (its bin/gatehouse.js and dist/, same
 * config, topic, recorder and policy bundle, its own port) as the path `baseline`, for an A/B in one run; the
 * comparison is printed after the targets. `--rounds N` splits each path's seconds into N windows taken in turn
 * (…, baseline, gateway, …, baseline, gateway), so a neighbour's load falls on every path alike; a path's row sums
 * its windows (p50/p99: the windows' figures weighted by transactions).
 *
 * The gateway and the recorder run as their own processes (`node bin/gatehouse.js gateway|recorder --config FILE`,
 * dist/ rebuilt when stale) on the bench's ports (21000-21099), with a fresh sessions topic and ClickHouse database.
 * `--profile` runs the gateway with `--cpu-prof` (slower: its figures are not comparable) and prints its top
 * self-time frames. Shared services (brokers, PostgreSQL, ClickHouse) also serve whatever else runs on the machine:
 * the rows without the gateway show that background.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDist } from './support/build-dist.js';
import { readCpuProfile, topFrames } from './support/cpu-profile.js';
import { startPgbenchEnvironment } from './support/pgbench-environment.js';
import type { PgbenchEnvironment } from './support/pgbench-environment.js';
import { runPgbench, warmUp } from './support/pgbench-runner.js';
import {
  brokerNames,
  compareWithBaseline,
  compareWithFloor,
  evaluateTargets,
  PATHS,
} from './support/pgbench-targets.js';
import type { PathId, PathRun } from './support/pgbench-targets.js';
import { cpuBetween, sampleCpu } from './support/proc-cpu.js';
import {
  clusterPartitionCount,
  recorderEventsInserted,
  topicRecordCount,
  waitForRecorder,
} from './support/recorder-catch-up.js';
import { fmt, printTable, printTargets, writeJson } from './support/report.js';
import type { Column } from './support/report.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '4' },
    'single-seconds': { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    'catch-up-timeout': { type: 'string', default: '60' },
    'ready-timeout': { type: 'string', default: '60' },
    json: { type: 'string' },
    profile: { type: 'boolean', default: false },
    top: { type: 'string', default: '25' },
    build: { type: 'boolean', default: false },
    rate: { type: 'string' },
    paths: { type: 'string', default: PATHS.map((p) => p.id).join(',') },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '1' },
  },
});
const opts = {
  seconds: Number(values.seconds),
  clients: Number(values.clients),
  singleSeconds: Number(values['single-seconds']),
  warmupSeconds: Number(values.warmup),
  catchUpTimeoutMs: Number(values['catch-up-timeout']) * 1000,
  readyTimeoutMs: Number(values['ready-timeout']) * 1000,
  profile: values.profile,
  top: Number(values.top),
  /** A fixed total rate for every run (pgbench -R): CPU per transaction then compares across runs and loads. */
  ...(values.rate === undefined ? {} : { rate: Number(values.rate) }),
  paths: PATHS.filter(
    (p) => values.paths.split(',').includes(p.id) && (p.id !== 'baseline' || values.baseline !== undefined),
  ).map((p) => p.id),
  rounds: Math.max(1, Number(values.rounds)),
  /** 1-client rows unless `--single-seconds 0`. */
  clientCounts: Number(values['single-seconds']) > 0 ? [Number(values.clients), 1] : [Number(values.clients)],
};
if (opts.paths.length === 0) throw new Error(`--paths names none of ${PATHS.map((p) => p.id).join(', ')}`);

ensureDist(values.build);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const profileDir = join(dir, 'profile');
mkdirSync(profileDir);
const loadBefore = loadavg();
const env = await startPgbenchEnvironment({
  dir,
  gatewayNodeArgs: opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  readyTimeoutMs: opts.readyTimeoutMs,
  ...(values.baseline === undefined ? {} : { baseline: values.baseline }),
});

async function measure(
  e: PgbenchEnvironment,
  path: PathId,
  clients: number,
  seconds: number,
): Promise<PathRun> {
  const logDir = join(e.dir, 'pgbench', `${path}-c${clients}`);
  const gateway = path === 'gateway' ? e.gateway : path === 'baseline' ? e.baseline : undefined;
  const startRecords = gateway ? await topicRecordCount(e.admin, e.names.sessionsTopic) : 0;
  const startEvents = gateway ? await recorderEventsInserted(e.recorder) : 0;
  const start = sampleCpu(e.probes);
  const result = await runPgbench(e.targets[path], { seconds, clients, logDir, rate: opts.rate });
  const catchUp =
    gateway !== undefined
      ? await waitForRecorder({
          admin: e.admin,
          sessionsTopic: e.names.sessionsTopic,
          gateway,
          recorder: e.recorder,
          startRecords,
          startEvents,
          timeoutMs: opts.catchUpTimeoutMs,
        })
      : undefined;
  const end = sampleCpu(e.probes);
  const cpu = cpuBetween(start, end);
  const tx = Math.max(1, result.transactions);
  const cpuMicros = Object.fromEntries([...cpu].map(([k, v]) => [k, v ?? null]));
  const cpuPerTxMicros = Object.fromEntries([...cpu].map(([k, v]) => [k, v === undefined ? null : v / tx]));
  const label = PATHS.find((p) => p.id === path)!.label;
  const run: PathRun = {
    path,
    label,
    clients,
    seconds,
    result,
    windowMs: end.at - start.at,
    cpuMicros,
    cpuPerTxMicros,
  };
  return catchUp ? { ...run, catchUp } : run;
}

/** One row of a path's windows (`--rounds`): sums, and latency figures weighted by transactions. */
function mergeWindows(windows: readonly PathRun[]): PathRun {
  const first = windows[0]!;
  if (windows.length === 1) return first;
  const sum = (f: (r: PathRun) => number) => windows.reduce((s, r) => s + f(r), 0);
  const transactions = sum((r) => r.result.transactions);
  const weighted = (f: (r: PathRun) => number) =>
    sum((r) => f(r) * r.result.transactions) / Math.max(1, transactions);
  const cpuMicros = Object.fromEntries(
    Object.keys(first.cpuMicros).map((k) => [
      k,
      windows.some((r) => r.cpuMicros[k] === null) ? null : sum((r) => r.cpuMicros[k] ?? 0),
    ]),
  );
  const catchUps = windows.flatMap((r) => (r.catchUp ? [r.catchUp] : []));
  const last = catchUps.at(-1);
  const run: PathRun = {
    ...first,
    seconds: sum((r) => r.seconds),
    result: {
      tps: sum((r) => r.result.tps * r.seconds) / sum((r) => r.seconds),
      transactions,
      latencyAvgMs: weighted((r) => r.result.latencyAvgMs),
      p50Us: weighted((r) => r.result.p50Us),
      p99Us: weighted((r) => r.result.p99Us),
    },
    windowMs: sum((r) => r.windowMs),
    cpuMicros,
    cpuPerTxMicros: Object.fromEntries(
      Object.entries(cpuMicros).map(([k, v]) => [k, v === null ? null : v / Math.max(1, transactions)]),
    ),
  };
  if (last === undefined) return run;
  return {
    ...run,
    catchUp: {
      ...last,
      windowRecords: catchUps.reduce((s, c) => s + c.windowRecords, 0),
      windowEvents: catchUps.reduce((s, c) => s + c.windowEvents, 0),
      caughtUp: catchUps.every((c) => c.caughtUp),
      waitedMs: catchUps.reduce((s, c) => s + c.waitedMs, 0),
    },
  };
}

const kafkaPartitions = await clusterPartitionCount(env.admin);
const runs: PathRun[] = [];
let profile: { file: string; busyMs: number; frames: ReturnType<typeof topFrames>['frames'] } | undefined;
try {
  for (const clients of opts.clientCounts) {
    const windows = new Map<PathId, PathRun[]>(opts.paths.map((id) => [id, []]));
    const seconds = (clients === 1 ? opts.singleSeconds : opts.seconds) / opts.rounds;
    for (let round = 0; round < opts.rounds; round++) {
      for (const id of opts.paths) {
        if (round === 0 && clients === opts.clients && opts.warmupSeconds > 0) {
          await warmUp(env.targets[id], { seconds: opts.warmupSeconds, clients, rate: opts.rate });
        }
        windows.get(id)!.push(await measure(env, id, clients, seconds));
        console.log(`  measured ${id} at ${clients} client(s), round ${round + 1}/${opts.rounds}`);
      }
    }
    for (const id of opts.paths) runs.push(mergeWindows(windows.get(id)!));
  }
} finally {
  await env.stop();
}
if (opts.profile) {
  const { file, json } = readCpuProfile(profileDir);
  profile = { file, ...topFrames(json, opts.top) };
}
const loadAfter = loadavg();

const processNames = env.probes.map((p) => p.name);
const cpuColumns = processNames.map((n) => ({ header: n, width: Math.max(9, n.length) }));
const columns: Column[] = [
  { header: 'path', width: 40, align: 'left' },
  { header: 'TPS', width: 8 },
  { header: 'avg ms', width: 7 },
  { header: 'p50 µs', width: 7 },
  { header: 'p99 µs', width: 7 },
  ...cpuColumns,
  { header: 'brokers', width: 8 },
];
for (const clients of opts.clientCounts) {
  const rows = runs
    .filter((r) => r.clients === clients)
    .map((r) => [
      r.label,
      fmt(r.result.tps),
      fmt(r.result.latencyAvgMs, 3),
      fmt(r.result.p50Us),
      fmt(r.result.p99Us),
      ...processNames.map((n) => fmt(r.cpuPerTxMicros[n], 1)),
      fmt(
        brokerNames(processNames).reduce((s, n) => s + (r.cpuPerTxMicros[n] ?? 0), 0),
        1,
      ),
    ]);
  const seconds = clients === 1 ? opts.singleSeconds : opts.seconds;
  const rate = opts.rate === undefined ? '' : `, -R ${opts.rate} tx/s`;
  console.log(
    `\npgbench -S -M prepared${rate}, ${clients} client(s), ${seconds} s each; CPU in µs per transaction`,
  );
  printTable(columns, rows);
}
const targets = [...evaluateTargets(runs, opts.clients)];
printTargets(targets);
for (const clients of opts.clientCounts) {
  const lines = compareWithFloor(runs, clients);
  if (lines.length === 0) continue;
  console.log(
    `\nThe runtime's floor at ${clients} client(s) (a bare Node TLS relay to PostgreSQL in its own process):`,
  );
  for (const line of lines) console.log(`  ${line}`);
}
for (const clients of opts.clientCounts) {
  const lines = compareWithBaseline(runs, clients);
  if (lines.length === 0) continue;
  console.log(`\nA/B at ${clients} client(s), baseline ${values.baseline} → this work tree:`);
  for (const line of lines) console.log(`  ${line}`);
}
console.log(
  `\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} ` +
    '(a shared machine: TPS is noisy, CPU per transaction less so); logs and configs in ' +
    dir,
);
console.log(
  `Kafka cluster: ${kafkaPartitions} partitions at the start (the brokers' replica fetches walk every partition ` +
    'their leaders lead: leftover topics make each produce request dearer)',
);
if (profile) {
  console.log(
    `\ngateway CPU profile (${profile.file}; whole process life, start-up included; ${fmt(profile.busyMs)} ms busy), top self-time frames:`,
  );
  printTable(
    [
      { header: 'self ms', width: 9 },
      { header: '%', width: 5 },
      { header: 'frame', width: 0, align: 'left' },
    ],
    profile.frames.map((f) => [fmt(f.selfMs, 1), fmt(f.percent, 1), f.frame]),
  );
}
if (values.json) {
  writeJson(values.json, {
    bench: 'pgbench',
    at: new Date().toISOString(),
    options: opts,
    loadAverage: { before: loadBefore, after: loadAfter },
    kafkaPartitions,
    processes: processNames,
    runs,
    targets,
    ...(profile ? { profile } : {}),
  });
}
process.exit(0);
