import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { topFrames } from './cpu-profile.js';
import { parsePgbenchSummary, transactionLatencies } from './pgbench-runner.js';
import { brokerCostPerTx, evaluateTargets } from './pgbench-targets.js';
import type { PathRun } from './pgbench-targets.js';
import { processCpuMicros, processTreeCpuMicros, readProcStat } from './proc-cpu.js';
import { metricSum } from './recorder-catch-up.js';
import { percentile } from './stats.js';

describe('bench parsers', () => {
  it('reads pgbench 15 summaries and per-transaction logs', () => {
    const out = [
      'number of transactions actually processed: 41234',
      'latency average = 0.970 ms',
      'initial connection time = 12.345 ms',
      'tps = 4123.456789 (without initial connection time)',
    ].join('\n');
    expect(parsePgbenchSummary(out)).toEqual({ tps: 4123.456789, latencyAvgMs: 0.97, transactions: 41234 });
    expect(() => parsePgbenchSummary('pgbench: error')).toThrow(/unexpected pgbench output/);
    const dir = mkdtempSync(join(tmpdir(), 'bench-log-'));
    writeFileSync(join(dir, 'tx.123'), '0 0 900 0 1796000000 1\n0 1 300 0 1796000000 2\n');
    writeFileSync(join(dir, 'tx.123.1'), '1 0 600 0 1796000000 3\n');
    expect(transactionLatencies(dir)).toEqual([300, 600, 900]);
  });

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('sums Prometheus samples by name and labels', () => {
    const text = [
      '# HELP gatehouse_recorder_records_consumed_total x',
      'gatehouse_recorder_records_consumed_total{topic="a"} 10',
      'gatehouse_recorder_records_consumed_total{topic="b"} 5',
      'gatehouse_recorder_records_consumed_total_extra{topic="a"} 99',
      'gatehouse_recorder_pending_rows 3',
    ].join('\n');
    expect(metricSum(text, 'gatehouse_recorder_records_consumed_total')).toBe(15);
    expect(metricSum(text, 'gatehouse_recorder_records_consumed_total', { topic: 'a' })).toBe(10);
    expect(metricSum(text, 'gatehouse_recorder_pending_rows')).toBe(3);
  });

  it('ranks a CPU profile by self time, leaving idle out', () => {
    const frame = (id: number, functionName: string, url = '', lineNumber = 0) => ({
      id,
      callFrame: { functionName, url, lineNumber, scriptId: '0', columnNumber: 0 },
      hitCount: 0,
    });
    const profile = {
      nodes: [
        frame(1, '(root)'),
        frame(2, '(idle)'),
        frame(3, 'encode', 'file:///x/node_modules/pkg/a.js', 9),
        frame(4, ''),
      ],
      samples: [2, 3, 3, 4, 2],
      timeDeltas: [5000, 1000, 2000, 1000, 5000],
      startTime: 0,
      endTime: 1,
    };
    const { busyMs, frames } = topFrames(JSON.stringify(profile), 5);
    expect(busyMs).toBe(4);
    expect(frames[0]).toEqual({ frame: 'encode pkg/a.js:10', selfMs: 3, percent: 75 });
    expect(frames[1]?.frame).toBe('(anonymous)');
  });
});

describe('/proc CPU', () => {
  it("reads a process's times and counts a reaped child in its parent's tree", async () => {
    expect(readProcStat(process.pid)?.ppid).toBe(process.ppid);
    expect(processCpuMicros(process.pid)).toBeGreaterThan(0);
    expect(processCpuMicros(2 ** 22 + 1)).toBeUndefined();
    const before = processTreeCpuMicros(process.pid)!;
    // A child that does a fixed amount of work (≥ 100 ms of CPU with Node's start, whatever the machine's load) and
    // exits: then its time is in our cutime.
    const burn = 'let x = 0; for (let i = 0; i < 1e8; i++) x += i % 7; if (x < 0) console.log(x);';
    const child = spawn(process.execPath, ['-e', burn]);
    await new Promise((resolve) => child.on('exit', resolve));
    const after = processTreeCpuMicros(process.pid)!;
    expect(after - before).toBeGreaterThanOrEqual(100_000);
  }, 60_000);
});

describe('targets', () => {
  const run = (
    path: PathRun['path'],
    clients: number,
    tps: number,
    p50: number,
    cpu: Record<string, number>,
  ) =>
    ({
      path,
      label: path,
      clients,
      seconds: 10,
      windowMs: 10_000,
      result: { tps, transactions: tps * 10, latencyAvgMs: 1, p50Us: p50, p99Us: p50 * 2 },
      cpuMicros: cpu,
      cpuPerTxMicros: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / (tps * 10)])),
    }) satisfies PathRun;

  it('judges the brokers net of the background the other rows measured', () => {
    const runs = [
      run('pgbouncer-tls', 4, 4000, 400, { gateway: 0, 'kafka-1': 100_000, recorder: 0 }),
      run('gateway', 4, 2000, 900, { gateway: 1_000_000, 'kafka-1': 500_000, recorder: 400_000 }),
      run('pgbouncer-tls', 1, 1000, 400, {}),
      run('gateway', 1, 700, 520, {}),
    ];
    // 10 ms/s background over the 10 s window = 100 ms of 500 ms; 400 ms over 20000 transactions.
    expect(brokerCostPerTx(runs, 4)).toEqual({ raw: 25, net: 20, backgroundPerSecond: 10_000 });
    const marks = Object.fromEntries(evaluateTargets(runs, 4).map((t) => [t.name, [t.value, t.pass]]));
    expect(marks['gateway / PgBouncer-TLS TPS at 4 clients']).toEqual([0.5, true]);
    expect(marks['gateway CPU per transaction']).toEqual([50, true]);
    expect(marks['recorder CPU per transaction']).toEqual([20, true]);
    expect(marks['added latency at 1 client, p50 vs PgBouncer-TLS']).toEqual([120, true]);
  });
});
