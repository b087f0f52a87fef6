/**
 * CPU per transaction of the audit path: `pgbench -S -M prepared` through a gateway node (its own process), with a
 * recorder (its own process) writing the sessions topic to ClickHouse, and the local stack's Kafka brokers. CPU is
 * utime+stime from /proc/<pid>/stat over the pgbench run, divided by the transactions pgbench reports.
 *
 *   npm run stack:up && node --import tsx benchmarks/audit-cost.ts [--seconds 15] [--clients 4]
 *
 * The brokers are shared with whatever else runs on the machine: their figure is an upper bound.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { run } from '../test/support/clients.js';
import { testDatabase } from '../test/support/clickhouse.js';
import { startFixtureRecorder, startGatewayFixture } from '../test/support/gateway.js';
import { stackValue } from '../test/support/stack.js';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    topic: { type: 'string', default: '' },
    issuer: { type: 'string', default: '' },
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '4' },
    /** Write a V8 CPU profile of the gateway and the recorder into this directory. */
    prof: { type: 'string', default: '' },
  },
});

/** Length of the idle window measured before the run. */
const IDLE_MS = 5_000;

/** A child prints one JSON line when ready and runs until its stdin closes. */
function untilStdinCloses(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('end', resolve).on('close', resolve).resume();
  });
}

async function gatewayChild(): Promise<void> {
  const fx = await startGatewayFixture();
  const token = await fx.idp.issueToken({
    user: 'bench-agent',
    agent: true,
    groups: ['agents'],
    ttlSeconds: 3600,
  });
  process.stdout.write(
    `${JSON.stringify({ port: fx.pgPort, token, topic: fx.sessionsTopic, issuer: fx.idp.issuer })}\n`,
  );
  await untilStdinCloses();
  await fx.stop();
}

async function recorderChild(): Promise<void> {
  const db = await testDatabase('gatehouse_bench');
  const issuer = values.issuer;
  const recorder = await startFixtureRecorder(
    { sessionsTopic: values.topic, idp: { issuer } as Parameters<typeof startFixtureRecorder>[0]['idp'] },
    'bench',
    db.opts,
  );
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await untilStdinCloses();
  await recorder.stop();
  await db.drop();
}

function child(args: string[]): { proc: ChildProcess; ready: Promise<Record<string, unknown>> } {
  const prof = values.prof === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.prof}`];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', 'benchmarks/audit-cost.ts', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', (l) =>
      resolve(JSON.parse(l) as Record<string, unknown>),
    );
    proc.once('exit', (code) => reject(new Error(`child ${args.join(' ')} exited ${code}`)));
  });
  return { proc, ready };
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  const brokers = stackValue('GATEHOUSE_KAFKA_PID_FILES')
    .split(',')
    .map((f) => Number(readFileSync(f, 'utf8').trim()));
  const gw = child(['--role', 'gateway']);
  const g = await gw.ready;
  const rec = child(['--role', 'recorder', '--topic', String(g.topic), '--issuer', String(g.issuer)]);
  await rec.ready;
  const pids = { gateway: gw.proc.pid!, recorder: rec.proc.pid! };
  const sample = () => ({
    at: performance.now(),
    gateway: cpuSeconds(pids.gateway),
    recorder: cpuSeconds(pids.recorder),
    brokers: brokers.reduce((n, p) => n + cpuSeconds(p), 0),
  });
  // Idle CPU (timers, consumer polls, other users of the brokers) over a quiet window, subtracted below.
  const idleFrom = sample();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const before = sample();
  const r = await run(
    'pgbench',
    [
      '-n',
      '-S',
      '-M',
      'prepared',
      '-T',
      values.seconds,
      '-c',
      values.clients,
      '-j',
      '2',
      '-h',
      '127.0.0.1',
    ].concat(['-p', String(g.port), '-U', 'bench-agent', 'demo-pgbench']),
    { ...process.env, PGPASSWORD: String(g.token), PGSSLMODE: 'require' },
    (Number(values.seconds) + 60) * 1000,
  );
  // Let the publisher and the recorder finish the tail of the run.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const after = sample();
  gw.proc.stdin!.end();
  rec.proc.stdin!.end();
  if (r.status !== 0) throw new Error(`pgbench failed: ${r.stderr}`);
  const tx = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? NaN);
  const tps = Number(/tps = ([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  type Proc = 'gateway' | 'recorder' | 'brokers';
  const idleRate = (k: Proc) => (before[k] - idleFrom[k]) / (before.at - idleFrom.at);
  const per = (k: Proc) => (((after[k] - before[k]) / tx) * 1e6).toFixed(1).padStart(7);
  const net = (k: Proc) =>
    (((after[k] - before[k] - idleRate(k) * (after.at - before.at)) / tx) * 1e6).toFixed(1).padStart(7);
  process.stdout.write(
    `pgbench -S -M prepared -c ${values.clients}, ${values.seconds} s: ${tx} transactions, ${tps.toFixed(0)} tps\n` +
      `CPU µs per transaction     gateway  brokers recorder\n` +
      `  total                    ${per('gateway')}  ${per('brokers')}  ${per('recorder')}\n` +
      `  minus idle rate          ${net('gateway')}  ${net('brokers')}  ${net('recorder')}\n`,
  );
  await Promise.all([
    new Promise((resolve) => gw.proc.once('exit', resolve)),
    new Promise((resolve) => rec.proc.once('exit', resolve)),
  ]);
}

if (values.role === 'gateway') await gatewayChild();
else if (values.role === 'recorder') await recorderChild();
else await main();
process.exit(0);
