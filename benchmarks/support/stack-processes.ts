import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackEnv, stackValue } from '../../test/support/stack.js';
import { processProbe, processTreeProbe } from './proc-cpu.js';
import type { CpuProbe } from './proc-cpu.js';

/**
 * The running stack's processes on the measured path: each Kafka broker, PostgreSQL (postmaster and backends) and
 * ClickHouse (where the recorder writes). Found from the stack's pid files (.stack/run, the data directory's
 * postmaster.pid), each checked against its command line, else by command line.
 */

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return ''; // not running (or gone while we looked)
  }
}

function pidFromFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // no pid file: fall back to the command line
  }
}

/** Pids whose command line contains every one of `parts`, lowest first. */
function pidsByCmdline(...parts: string[]): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => pid !== process.pid && parts.every((p) => cmdline(pid).includes(p)))
    .sort((a, b) => a - b);
}

/** The pid in `file` when its command line has `marker`, else the first process whose command line has `parts`. */
function findPid(file: string | undefined, marker: string, parts: string[]): number | undefined {
  const fromFile = file === undefined ? undefined : pidFromFile(file);
  if (fromFile !== undefined && cmdline(fromFile).includes(marker)) return fromFile;
  return pidsByCmdline(...parts)[0];
}

export type StackProcess = { name: string; pid: number | undefined; probe: CpuProbe };

/**
 * Kafka brokers `kafka-1`…`kafka-N`, in broker order. A broker that is down (another user of the shared stack may
 * be restarting it) is reported, and its probe reads nothing.
 */
export function kafkaBrokerProcesses(): StackProcess[] {
  const env = stackEnv();
  const files = (env.GATEHOUSE_KAFKA_PID_FILES ?? '').split(',').filter(Boolean);
  const count = Number(env.GATEHOUSE_KAFKA_BROKER_COUNT ?? files.length);
  const out: StackProcess[] = [];
  for (let i = 1; i <= count; i++) {
    const pid = findPid(files[i - 1], 'kafka.Kafka', ['kafka.Kafka', `/broker-${i}/server.properties`]);
    const name = `kafka-${i}`;
    if (pid === undefined) console.warn(`warning: Kafka broker ${i} is not running; its CPU is not measured`);
    const probe = pid === undefined ? { name, read: () => undefined } : processProbe(name, pid);
    out.push({ name, pid, probe });
  }
  return out;
}

/** The stack's PostgreSQL: the postmaster, measured with its backends (live, and reaped ones via cutime). */
export function postgresProcess(): StackProcess {
  const dataDir = join(stackValue('GATEHOUSE_STACK_DIR'), 'postgres', 'data');
  const pid = findPid(join(dataDir, 'postmaster.pid'), dataDir, ['postgres', '-D', dataDir]);
  if (pid === undefined) throw new Error(`PostgreSQL (${dataDir}) is not running`);
  return { name: 'postgres', pid, probe: processTreeProbe('postgres', pid) };
}

/** The stack's ClickHouse server, or undefined when the stack runs none. */
export function clickhouseProcess(): StackProcess | undefined {
  const pid = findPid(stackEnv().GATEHOUSE_CLICKHOUSE_PID_FILE, 'clickhouse', ['clickhouse-server']);
  return pid === undefined ? undefined : { name: 'clickhouse', pid, probe: processProbe('clickhouse', pid) };
}
