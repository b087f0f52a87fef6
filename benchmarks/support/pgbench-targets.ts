import type { PgbenchResult } from './pgbench-runner.js';
import type { CatchUp } from './recorder-catch-up.js';
import { check } from './report.js';
import type { TargetCheck } from './report.js';

/** The paths `npm run bench:pgbench` compares, in the order it runs them. */
export const PATHS = [
  { id: 'direct', label: 'direct (no TLS)' },
  { id: 'pgbouncer', label: 'PgBouncer (no TLS)' },
  { id: 'pgbouncer-tls', label: 'PgBouncer (client TLS)' },
  { id: 'node-floor', label: 'Node floor (bare TLS relay)' },
  { id: 'baseline', label: 'Gatehouse baseline (--baseline checkout)' },
  { id: 'gateway', label: 'Gatehouse (TLS, policy, masking, audit)' },
] as const;

export type PathId = (typeof PATHS)[number]['id'];

/** Paths through a Gatehouse gateway (this work tree's, or the `--baseline` checkout's). */
export const GATEWAY_PATHS: readonly PathId[] = ['gateway', 'baseline'];

/** The process (CPU probe) that is the gateway of `path`. */
export const gatewayProcessOf = (path: PathId): string => (path === 'baseline' ? 'baseline' : 'gateway');

/** One pgbench run of one path, with the CPU every process on the machine's path used in its window. */
export type PathRun = {
  path: PathId;
  label: string;
  clients: number;
  seconds: number;
  result: PgbenchResult;
  /** Wall time between the two CPU samples (the pgbench run, plus the recorder's catch-up for the gateway). */
  windowMs: number;
  /** CPU µs used in the window, by process (null: not running). */
  cpuMicros: Record<string, number | null>;
  /** `cpuMicros` divided by the run's transactions. */
  cpuPerTxMicros: Record<string, number | null>;
  catchUp?: CatchUp;
};

/** The processes whose CPU counts as "the brokers". */
export const brokerNames = (names: readonly string[]) => names.filter((n) => n.startsWith('kafka-'));

const sum = (values: readonly (number | null | undefined)[]) =>
  values.reduce<number>((s, v) => s + (v ?? 0), 0);

/**
 * CPU µs per second that processes `names` use while the gateway is idle, measured in the runs at `clients` without
 * it: other users' work for shared services (brokers: the machine is shared), the idle cost (timers, polling) for
 * the gateway and the recorder.
 */
export function backgroundPerSecond(
  runs: readonly PathRun[],
  clients: number,
  names: readonly string[],
): number | undefined {
  const idle = runs.filter((r) => r.clients === clients && !GATEWAY_PATHS.includes(r.path));
  if (idle.length === 0) return undefined;
  const micros = sum(idle.map((r) => sum(names.map((n) => r.cpuMicros[n]))));
  return micros / sum(idle.map((r) => r.windowMs / 1000));
}

export function findRun(runs: readonly PathRun[], path: PathId, clients: number): PathRun | undefined {
  return runs.find((r) => r.path === path && r.clients === clients);
}

export type CostPerTx = { raw: number; net: number; backgroundPerSecond: number };

/** µs per transaction through `path` of processes `names` together: raw, and net of their background (above). */
export function costPerTx(
  runs: readonly PathRun[],
  clients: number,
  names: readonly string[],
  path: PathId = 'gateway',
): CostPerTx | undefined {
  const gw = findRun(runs, path, clients);
  if (!gw) return undefined;
  const raw = sum(names.map((n) => gw.cpuMicros[n]));
  const background = backgroundPerSecond(runs, clients, names) ?? 0;
  const tx = Math.max(1, gw.result.transactions);
  return {
    raw: raw / tx,
    net: Math.max(0, raw - (background * gw.windowMs) / 1000) / tx,
    backgroundPerSecond: background,
  };
}

export function brokerCostPerTx(
  runs: readonly PathRun[],
  clients: number,
  path: PathId = 'gateway',
): CostPerTx | undefined {
  const gw = findRun(runs, path, clients);
  return gw && costPerTx(runs, clients, brokerNames(Object.keys(gw.cpuMicros)), path);
}

const idleNote = (c: CostPerTx | undefined) =>
  c
    ? `idle ${(c.backgroundPerSecond / 1000).toFixed(1)} ms CPU/s in the other rows; net of it ${c.net.toFixed(1)} µs`
    : '';

/** The targets of issue 14 (a bench, not a test: printed with pass/fail marks, never failing the run). */
export function evaluateTargets(runs: readonly PathRun[], clients: number): TargetCheck[] {
  const out: TargetCheck[] = [];
  const gw = findRun(runs, 'gateway', clients);
  const tls = findRun(runs, 'pgbouncer-tls', clients);
  if (gw && tls) {
    const ratio = gw.result.tps / tls.result.tps;
    out.push(check(`gateway / PgBouncer-TLS TPS at ${clients} clients`, ratio, 0.5, 'x'));
  }
  if (gw) {
    const gwNote = idleNote(costPerTx(runs, clients, ['gateway']));
    out.push(check('gateway CPU per transaction', gw.cpuPerTxMicros.gateway, 60, 'µs', gwNote));
    const brokers = brokerCostPerTx(runs, clients);
    if (brokers) {
      const note = `raw ${brokers.raw.toFixed(1)} µs; background ${(brokers.backgroundPerSecond / 1000).toFixed(1)} ms CPU/s from the other rows`;
      out.push(
        check('Kafka brokers together per transaction, net of background', brokers.net, 40, 'µs', note),
      );
    }
    const c = gw.catchUp;
    const tx = Math.max(1, gw.result.transactions);
    const perTx = c ? (c.windowEvents / tx).toFixed(2) : '-';
    const perSecond = c ? (c.windowRecords / (gw.windowMs / 1000)).toFixed(0) : '-';
    const caught = c?.caughtUp
      ? `${c.windowEvents} events (${perTx} per transaction) in ${c.windowRecords} Kafka records (session batches, ${perSecond}/s) in the window; caught up in ${c.waitedMs} ms; ${idleNote(costPerTx(runs, clients, ['recorder']))}`
      : `NOT caught up: ${c?.consumed}/${c?.records} records after ${c?.waitedMs} ms`;
    out.push(
      check('recorder CPU per transaction', gw.cpuPerTxMicros.recorder, 30, 'µs', c ? caught : undefined),
    );
  }
  const gw1 = findRun(runs, 'gateway', 1);
  const tls1 = findRun(runs, 'pgbouncer-tls', 1);
  if (gw1 && tls1) {
    const p99 = `p99 +${(gw1.result.p99Us - tls1.result.p99Us).toFixed(0)} µs`;
    const added = gw1.result.p50Us - tls1.result.p50Us;
    out.push(check('added latency at 1 client, p50 vs PgBouncer-TLS', added, 150, 'µs', p99));
  }
  return out;
}

/**
 * This work tree's gateway against the `--baseline` checkout's, measured in the same run (interleaved windows):
 * lines `figure: baseline → this (ratio)`; none without a baseline row.
 */
export function compareWithBaseline(runs: readonly PathRun[], clients: number): string[] {
  const gw = findRun(runs, 'gateway', clients);
  const base = findRun(runs, 'baseline', clients);
  if (!gw || !base) return [];
  const figures = (r: PathRun): [string, number, number][] => {
    const tx = Math.max(1, r.result.transactions);
    const c = r.catchUp;
    const own = gatewayProcessOf(r.path);
    return [
      ['TPS', r.result.tps, 0],
      ['p50 µs', r.result.p50Us, 0],
      ['gateway µs/tx', (r.cpuMicros[own] ?? NaN) / tx, 1],
      ['gateway µs/tx, net of idle', costPerTx(runs, clients, [own], r.path)?.net ?? NaN, 1],
      ['brokers µs/tx, net of background', brokerCostPerTx(runs, clients, r.path)?.net ?? NaN, 1],
      ['recorder µs/tx', (r.cpuMicros.recorder ?? NaN) / tx, 1],
      ['events/tx', c ? c.windowEvents / tx : NaN, 2],
      ['Kafka records/s', c ? c.windowRecords / (r.windowMs / 1000) : NaN, 0],
    ];
  };
  const after = figures(gw);
  return figures(base).map(([name, x, digits], i) => {
    const y = after[i]![1];
    return `${name}: ${x.toFixed(digits)} → ${y.toFixed(digits)} (${(y / x).toFixed(2)}x)`;
  });
}

/**
 * The runtime's floor (`node-floor`: a bare Node TLS relay, no parsing, policy or audit) against PgBouncer-TLS and
 * the gateway: how much of the gap is Node's TLS and socket machinery on this machine, how much the gateway's own
 * work. Lines of text; none without a floor row.
 */
export function compareWithFloor(runs: readonly PathRun[], clients: number): string[] {
  const floor = findRun(runs, 'node-floor', clients);
  if (!floor) return [];
  const perTx = (r: PathRun, process: string) =>
    (r.cpuMicros[process] ?? NaN) / Math.max(1, r.result.transactions);
  const floorCpu = perTx(floor, 'node-floor');
  const out = [`floor: ${floor.result.tps.toFixed(0)} TPS, ${floorCpu.toFixed(1)} µs CPU per transaction`];
  const tls = findRun(runs, 'pgbouncer-tls', clients);
  if (tls) {
    const bouncer = perTx(tls, 'pgbouncer');
    out.push(
      `floor / PgBouncer-TLS: ${(floor.result.tps / tls.result.tps).toFixed(2)}x TPS; CPU ${floorCpu.toFixed(1)} vs ${bouncer.toFixed(1)} µs/tx`,
    );
  }
  for (const path of GATEWAY_PATHS) {
    const gw = findRun(runs, path, clients);
    if (!gw) continue;
    const cpu = perTx(gw, gatewayProcessOf(path));
    out.push(
      `${path} / floor: ${(gw.result.tps / floor.result.tps).toFixed(2)}x TPS; CPU ${cpu.toFixed(1)} vs ${floorCpu.toFixed(1)} µs/tx (${(cpu - floorCpu).toFixed(1)} µs/tx above the floor)`,
    );
  }
  return out;
}
