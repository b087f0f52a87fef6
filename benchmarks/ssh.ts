/**
 * Throughput of a large `cat` over SSH in one run: directly to the stack's sshd with OpenSSH, and through a
 * Gatehouse node (token login, policy, upstream login with the gateway's key, every output chunk recorded to Kafka
 * with acks=all) — as a person (no content masking) and as an agent (all content detectors on the output).
 *
 *   npm run stack:up && npx tsx benchmarks/ssh.ts [--mb 200] [--runs 1] [--keep] [--paths direct,person,agent]
 *     [--profile DIR] [--top 30]
 *
 * `CPU ms/MB` (of the fastest run; `median CPU` over all runs) is this process's CPU time (user + system) per MB
 * while the path ran and, for the gateway paths, until Kafka acknowledged the audit of its output: for the gateway paths the in-process gateway's cost (far less dependent on how loaded the
 * machine is than MB/s, though not independent of it); for direct OpenSSH only this process reading the pipe.
 *
 * `brokers ms/MB` is the Kafka brokers' CPU (utime+stime of every broker process from /proc/PID/stat, the same window)
 * per MB: what recording the output costs the stack (TLS, the log, replication to the followers), on the same
 * cores. The brokers are shared: whatever else uses them in that window is counted too (the direct row shows that
 * background).
 *
 * `--profile DIR` records a CPU profile of this process (the in-process gateway) during each gateway path's last
 * run only (start-up excluded), writes `DIR/<path>.cpuprofile` and prints its top self-time frames. Profiling
 * slows the gateway down: figures of a profiled run are not comparable with unprofiled ones.
 *
 * The file (base64 text of random bytes, lines of 100 characters) is created in the demo user's ~/logs (agents may
 * only `cat` there) with the key the gateway holds, and deleted afterwards unless --keep.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { topFrames } from './support/cpu-profile.js';
import { cpuBetween, sampleCpu } from './support/proc-cpu.js';
import { kafkaBrokerProcesses } from './support/stack-processes.js';
import {
  directSshArgs,
  runSsh,
  SSH_CLIENT_OPTIONS,
  startSshGatewayFixture,
} from '../test/support/ssh-gateway.js';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '200' },
    runs: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    paths: { type: 'string', default: 'direct,person,agent' },
    profile: { type: 'string' },
    top: { type: 'string', default: '30' },
  },
});
const PATHS = ['direct', 'person', 'agent'] as const;
type PathName = (typeof PATHS)[number];
const paths = values.paths.split(',').map((p) => p.trim());
for (const p of paths) {
  if (!(PATHS as readonly string[]).includes(p))
    throw new Error(`--paths: unknown path "${p}" (${PATHS.join(', ')})`);
}
const wanted = (p: PathName): boolean => paths.includes(p);
const profileDir = values.profile;
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
const megabytes = Number(values.mb);
const runs = Math.max(1, Number(values.runs));
const file = `~/logs/gatehouse-bench-${megabytes}mb.txt`;

/**
 * `cpuSeconds`: this process's CPU (user + system) while the command ran: the in-process gateway's cost;
 * `brokerSeconds`: the Kafka brokers' CPU in the same window (NaN when a broker could not be read).
 */
type Sample = {
  bytes: number;
  seconds: number;
  cpuSeconds: number;
  brokerSeconds: number;
  status: number | null;
};

const brokers = kafkaBrokerProcesses().map((b) => b.probe);

/**
 * Runs a command and counts its stdout bytes without keeping them (the gateway under test shares this loop).
 * `seconds` ends when the command exits; `cpuSeconds` ends once `settle` resolved too (for the gateway paths: the
 * audit of the output acknowledged by Kafka), so a path is charged for recording what it sent and the next path
 * starts on an idle gateway.
 */
async function measure(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  settle: () => Promise<void> = () => Promise.resolve(),
): Promise<Sample> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (bytes += b.length));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const brokers0 = sampleCpu(brokers);
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - t0) / 1000;
  if (status !== 0) throw new Error(`${command} exited ${status}: ${stderr.trim()}`);
  await settle();
  const cpu = process.cpuUsage(cpu0);
  let brokerMicros = 0;
  for (const us of cpuBetween(brokers0, sampleCpu(brokers)).values()) brokerMicros += us ?? NaN;
  return {
    bytes,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    brokerSeconds: brokerMicros / 1e6,
    status,
  };
}

const cpuPerMb = (s: Sample): number => (s.cpuSeconds * 1e3) / (s.bytes / 1e6);
const brokerCpuPerMb = (s: Sample): number => (s.brokerSeconds * 1e3) / (s.bytes / 1e6);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function best(samples: Sample[]): Sample {
  return samples.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

// 3 random bytes become 4 base64 characters; 100 characters per line plus the newline.
const rawBytes = Math.round((megabytes * 1e6 * 3) / 4 / (101 / 100));
await measure('ssh', directSshArgs(`head -c ${rawBytes} /dev/urandom | base64 -w 100 > ${file}`));
await measure('ssh', directSshArgs(`cat ${file}`)); // warm-up: the file in the page cache for every path
const fx = await startSshGatewayFixture({ listener: { idleTimeoutMs: 0 } });
/** `sample`: the fastest run; `all`: every run (for the median CPU, steadier than one run on a busy machine). */
const rows: { name: string; sample: Sample; all: Sample[] }[] = [];
try {
  const human = await fx.idp.issueToken({ user: 'bench-human', groups: ['engineering'], ttlSeconds: 3600 });
  const agent = await fx.idp.issueToken({
    user: 'bench-agent',
    agent: true,
    groups: ['agents'],
    ttlSeconds: 3600,
  });
  const check = await runSsh(fx.port, 'demo-ssh', agent, [`head -n 1 ${file}`]);
  if (check.status !== 0) throw new Error(`the gateway refused the benchmark command: ${check.stderr}`);
  /**
   * Waits until the gateway's publisher has nothing left to send, seen twice a linger window apart (a session's
   * last frames wait in the session until the next produce request takes them). Bounded.
   */
  const auditFlushed = async (): Promise<void> => {
    const deadline = Date.now() + 120_000;
    for (let idle = 0; idle < 2;) {
      if (Date.now() > deadline) throw new Error('the audit of the output was not flushed within 120 s');
      idle = fx.publisher.stats().bufferedEvents === 0 ? idle + 1 : 0;
      await sleep(25);
    }
  };
  const viaGateway = (token: string) =>
    measure(
      'sshpass',
      [
        '-e',
        'ssh',
        '-p',
        String(fx.port),
        ...SSH_CLIENT_OPTIONS,
        '-o',
        'LogLevel=ERROR',
        'demo-ssh@127.0.0.1',
        `cat ${file}`,
      ],
      { ...process.env, SSHPASS: token },
      auditFlushed,
    );
  const session = profileDir === undefined ? undefined : new Session();
  session?.connect();
  await session?.post('Profiler.enable');
  const profiled: { path: PathName; file: string; json: string }[] = [];
  /** Runs `fn`, profiling it when asked and this is the last run. */
  const run = async (path: PathName, last: boolean, fn: () => Promise<Sample>): Promise<Sample> => {
    if (!session || !last || path === 'direct') return fn();
    await session.post('Profiler.start');
    const sample = await fn();
    const { profile } = await session.post('Profiler.stop');
    const file = join(profileDir!, `${path}.cpuprofile`);
    const json = JSON.stringify(profile);
    writeFileSync(file, json);
    profiled.push({ path, file, json });
    return sample;
  };
  const samples: Record<PathName, Sample[]> = { direct: [], person: [], agent: [] };
  for (let i = 0; i < runs; i++) {
    const last = i === runs - 1;
    if (wanted('direct'))
      samples.direct.push(await run('direct', last, () => measure('ssh', directSshArgs(`cat ${file}`))));
    if (wanted('person')) samples.person.push(await run('person', last, () => viaGateway(human)));
    if (wanted('agent')) samples.agent.push(await run('agent', last, () => viaGateway(agent)));
  }
  session?.disconnect();
  const names: Record<PathName, string> = {
    direct: 'direct OpenSSH',
    person: 'Gatehouse, person (audit, no masking)',
    agent: 'Gatehouse, agent (audit + 4 detectors)',
  };
  for (const path of PATHS) {
    if (wanted(path)) rows.push({ name: names[path], sample: best(samples[path]), all: samples[path] });
  }
  const stats = fx.publisher.stats();
  console.log(`\ncat of a ${megabytes} MB text file over SSH, best of ${runs} run(s)`);
  console.log(
    `${'path'.padEnd(42)} ${'MB'.padStart(8)} ${'seconds'.padStart(9)} ${'MB/s'.padStart(9)}  vs direct  ${'CPU ms/MB'.padStart(9)}  ${'median CPU'.padStart(10)}  ${'brokers ms/MB'.padStart(13)}`,
  );
  const base = wanted('direct') ? rows[0]!.sample : undefined;
  for (const { name, sample, all } of rows) {
    const rate = sample.bytes / 1e6 / sample.seconds;
    const ratio = base ? `${(rate / (base.bytes / 1e6 / base.seconds)).toFixed(2)}x` : '-';
    console.log(
      `${name.padEnd(42)} ${(sample.bytes / 1e6).toFixed(1).padStart(8)} ${sample.seconds.toFixed(2).padStart(9)} ${rate.toFixed(1).padStart(9)}  ${ratio.padStart(9)}  ${cpuPerMb(sample).toFixed(1).padStart(9)}  ${median(all.map(cpuPerMb)).toFixed(1).padStart(10)}  ${median(all.map(brokerCpuPerMb)).toFixed(1).padStart(13)}`,
    );
  }
  console.log(
    `audit: ${stats.sentEvents} events in ${stats.sentBatches} produce requests (acks=all), ` +
      `${stats.bufferedEvents} still buffered, ${stats.failedSends} failed sends`,
  );
  for (const { path, file, json } of profiled) {
    const { busyMs, frames } = topFrames(json, Number(values.top));
    console.log(
      `\n${names[path]}: CPU profile ${file} (last run, ${busyMs.toFixed(0)} ms busy), top self time:`,
    );
    for (const f of frames) {
      console.log(`${f.selfMs.toFixed(0).padStart(7)} ms ${f.percent.toFixed(1).padStart(5)}%  ${f.frame}`);
    }
  }
} finally {
  await fx.stop();
  if (!values.keep) await measure('ssh', directSshArgs(`rm -f ${file}`)).catch(() => undefined);
}
process.exit(0);
