import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../test/support/clients.js';
import { percentile } from './stats.js';

/** One pgbench run: `-S -M prepared` (read-only, prepared statements), with per-transaction logs (`--log`). */
export type PgbenchTarget = {
  port: number;
  database: string;
  user: string;
  password: string;
  /** libpq sslmode: `require` (TLS) or `disable`. */
  sslmode: 'require' | 'disable';
};

export type PgbenchResult = {
  tps: number;
  transactions: number;
  latencyAvgMs: number;
  /** From the per-transaction log (µs). */
  p50Us: number;
  p99Us: number;
};

/** Latencies (µs, the third field) of every line of pgbench's per-transaction logs under `dir`, sorted. */
export function transactionLatencies(dir: string): number[] {
  const out: number[] = [];
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const fields = line.split(' ');
      if (fields.length >= 6) out.push(Number(fields[2]));
    }
  }
  return out.sort((a, b) => a - b);
}

/** Parses pgbench's summary (PostgreSQL 15 wording). */
export function parsePgbenchSummary(out: string): Omit<PgbenchResult, 'p50Us' | 'p99Us'> {
  const tps = /tps = ([\d.]+)/.exec(out);
  const lat = /latency average = ([\d.]+) ms/.exec(out);
  const tx = /number of transactions actually processed: (\d+)/.exec(out);
  if (!tps || !lat || !tx) throw new Error(`unexpected pgbench output:\n${out}`);
  return { tps: Number(tps[1]), latencyAvgMs: Number(lat[1]), transactions: Number(tx[1]) };
}

/** Duration and clients of a run; `rate`: a fixed total rate (transactions/s, `pgbench -R`) instead of flat out. */
export type PgbenchRun = { seconds: number; clients: number; rate?: number };

/** Runs pgbench; `logDir`: with per-transaction logs there. Returns its standard output. */
async function execPgbench(target: PgbenchTarget, o: PgbenchRun & { logDir?: string }): Promise<string> {
  const args = ['-n', '-S', '-M', 'prepared', '-T', String(o.seconds), '-c', String(o.clients)];
  args.push(
    '-j',
    String(Math.min(o.clients, 2)),
    '-h',
    '127.0.0.1',
    '-p',
    String(target.port),
    '-U',
    target.user,
  );
  if (o.rate !== undefined) args.push('-R', String(o.rate));
  if (o.logDir !== undefined) {
    mkdirSync(o.logDir, { recursive: true });
    args.push('--log', `--log-prefix=${join(o.logDir, 'tx')}`);
  }
  args.push(target.database);
  const env = { ...process.env, PGPASSWORD: target.password, PGSSLMODE: target.sslmode };
  const r = await run('pgbench', args, env, (o.seconds + 60) * 1000);
  if (r.status !== 0) throw new Error(`pgbench failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** A run whose figures are not kept (warming the path up: logins, JIT, pools); it may complete no transaction. */
export async function warmUp(target: PgbenchTarget, o: PgbenchRun): Promise<void> {
  await execPgbench(target, o);
}

export async function runPgbench(
  target: PgbenchTarget,
  o: PgbenchRun & { logDir: string },
): Promise<PgbenchResult> {
  const stdout = await execPgbench(target, o);
  const latencies = transactionLatencies(o.logDir);
  rmSync(o.logDir, { recursive: true, force: true }); // a line per transaction: megabytes per run
  return {
    ...parsePgbenchSummary(stdout),
    p50Us: percentile(latencies, 50),
    p99Us: percentile(latencies, 99),
  };
}
