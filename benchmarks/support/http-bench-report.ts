import { percentile } from './stats.js';

/** The figures `npm run bench:http` prints: per-path rows summed over rounds, ratios, the floor, the brokers. */

export const BROKERS = 'Kafka brokers';

/** A gateway's publisher counters (produce rounds, records acknowledged), by name. */
export type Counters = Record<string, number>;

export type Row = {
  path: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  done: number;
  elapsed: number;
  cpu: { name: string; usPerReq: number; micros: number }[];
  /** Publisher counters per second of the windows. */
  perSecond: Counters;
};

/** One measuring window's raw figures (rounds of the same path are summed into one row). */
export type Window = {
  elapsed: number;
  latencies: number[];
  errors: number;
  cpu: { name: string; micros: number }[];
  counters: Counters;
};

export function rowOf(path: string, windows: readonly Window[]): Row {
  const latencies = windows.flatMap((w) => w.latencies).sort((a, b) => a - b);
  const done = latencies.length;
  const elapsed = windows.reduce((a, w) => a + w.elapsed, 0);
  const q = (p: number) => (done > 0 ? percentile(latencies, p) : NaN);
  const perSecond: Counters = {};
  for (const k of Object.keys(windows[0]?.counters ?? {}))
    perSecond[k] = windows.reduce((a, w) => a + (w.counters[k] ?? 0), 0) / elapsed;
  return {
    path,
    rps: done / elapsed,
    p50: q(50),
    p99: q(99),
    errors: windows.reduce((a, w) => a + w.errors, 0),
    done,
    elapsed,
    cpu: (windows[0]?.cpu ?? []).map((c, i) => {
      const micros = windows.reduce((a, w) => a + w.cpu[i]!.micros, 0);
      return { name: c.name, micros, usPerReq: micros / Math.max(1, done) };
    }),
    perSecond,
  };
}

export const NGINX = 'nginx (1 worker)';
export const FLOOR = 'node floor (bare proxy)';

/** The table and the derived figures: ratios, the floor, the brokers net of their background, produce rounds. */
export function report(
  run: { seconds: number; rounds: number; concurrency: number; dir: string; topic: string },
  paths: readonly { label: string; gateway?: { idle: number } }[],
  rows: readonly Row[],
  idle: readonly Window[],
): string {
  const { seconds, rounds, concurrency, dir, topic } = run;
  const row = (label: string) => rows.find((r) => r.path === label);
  const cpuIn = (r: Row | undefined, name: string) => r?.cpu.find((c) => c.name === name);
  const gateways = new Set(paths.filter((p) => p.gateway).map((p) => p.label));
  const self = row(paths.at(-1)!.label)!;
  const [nginx, floor, direct] = [row(NGINX), row(FLOOR), row('direct')];
  // The brokers' background: their CPU while no gateway had traffic (idle windows, the other paths' windows).
  const quiet = [
    ...idle.map((w) => ({ micros: w.cpu[0]!.micros, elapsed: w.elapsed })),
    ...rows
      .filter((r) => !gateways.has(r.path))
      .map((r) => ({ micros: cpuIn(r, BROKERS)?.micros ?? 0, elapsed: r.elapsed })),
  ];
  const quietSeconds = quiet.reduce((a, q) => a + q.elapsed, 0);
  const background = quiet.reduce((a, q) => a + q.micros, 0) / quietSeconds; // µs per second
  const table = rows
    .map(
      (r) =>
        `| ${r.path} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ` +
        `${r.cpu.map((c) => `${c.name} ${c.usPerReq.toFixed(0)}`).join(', ')} |`,
    )
    .join('\n');
  const x = (a: number | undefined, b: number | undefined) => `${((a ?? NaN) / (b ?? NaN)).toFixed(2)}×`;
  const us = (r: Row | undefined, name: string) => cpuIn(r, name)?.usPerReq.toFixed(0) ?? '-';
  const ratio = self.rps / (nginx?.rps ?? NaN);
  const perGateway = rows.filter((r) => gateways.has(r.path));
  const brokerLines = perGateway.map((r) => {
    const raw = cpuIn(r, BROKERS)?.micros ?? NaN;
    const netMicros = Math.max(0, raw - background * r.elapsed);
    const net = netMicros / Math.max(1, r.done);
    const rounds = r.perSecond.rounds === undefined ? undefined : r.perSecond.rounds * r.elapsed;
    const perRound = rounds ? `, ${(netMicros / rounds / 1000).toFixed(1)} ms per produce round` : '';
    return `  ${r.path}: brokers ${(raw / Math.max(1, r.done)).toFixed(0)} µs/request raw, ${net.toFixed(0)} net of background${perRound}`;
  });
  const publishLines = perGateway.map((r) => {
    const { rounds, records } = r.perSecond;
    if (rounds === undefined || records === undefined)
      return `  ${r.path}: no publisher counters (older build)`;
    return (
      `  ${r.path}: ${rounds.toFixed(1)} produce rounds/s, ${records.toFixed(0)} records/s ` +
      `(${(r.rps / rounds).toFixed(1)} requests per round, ${(r.rps / records).toFixed(2)} per record)`
    );
  });
  const idleLines = paths
    .filter((p) => p.gateway)
    .map((p) => `${p.label} ${(p.gateway!.idle / 1000).toFixed(1)} ms/s`);
  return (
    `\nHTTP GET pass-through (1 KiB JSON), ${seconds} s per path in ${rounds} interleaved round(s), ` +
    `concurrency ${concurrency}, one run; each gateway is one process\n\n` +
    `| path | req/s | p50 ms | p99 ms | errors | CPU µs/request |\n|---|---:|---:|---:|---:|---|\n${table}\n\n` +
    `gateway/nginx ${ratio.toFixed(2)}× (target ≥ 0.50×: ${ratio >= 0.5 ? 'met' : 'NOT met'}), ` +
    `gateway/direct ${x(self.rps, direct?.rps)}, nginx/direct ${x(nginx?.rps, direct?.rps)}\n` +
    `node floor: floor/nginx ${x(floor?.rps, nginx?.rps)}, gateway/floor ${x(self.rps, floor?.rps)}; CPU µs/request ` +
    `nginx ${us(nginx, 'nginx workers')}, floor ${us(floor, 'node floor')}, gateway ${us(self, 'gateway')}\n` +
    `Kafka brokers' background ${(background / 1000).toFixed(1)} ms CPU/s (${quietSeconds.toFixed(0)} s without gateway traffic):\n` +
    `${brokerLines.join('\n')}\npublisher:\n${publishLines.join('\n')}\n` +
    `gateway CPU with no traffic: ${idleLines.join(', ')}; sessions topic ${topic}; logs in ${dir}\n`
  );
}
