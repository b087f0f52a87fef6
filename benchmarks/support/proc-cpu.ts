import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of processes from /proc/PID/stat, in microseconds. A process's utime+stime covers all its threads
 * (live and exited), so a JVM broker or a Node process with worker threads is one reading.
 */

/** utime, stime, cutime, cstime (clock ticks) and the parent pid of one process; undefined once it is gone. */
export type ProcStat = { ppid: number; utime: number; stime: number; cutime: number; cstime: number };

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK` (100 on Linux): the unit of the /proc/PID/stat times. */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited between listing and reading: its time moved to the parent's cutime/cstime
  }
  // The command name (field 2) is in parentheses and may hold spaces; fields after it are space-separated.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (field: number) => Number(fields[field - 3]);
  return { ppid: num(4), utime: num(14), stime: num(15), cutime: num(16), cstime: num(17) };
}

const ticksToMicros = (ticks: number) => (ticks * 1e6) / clockTicksPerSecond();

/** utime+stime of one process, µs; undefined when it is not running. */
export function processCpuMicros(pid: number): number | undefined {
  const s = readProcStat(pid);
  return s === undefined ? undefined : ticksToMicros(s.utime + s.stime);
}

/** Pids of the live children of `parent` (a scan of /proc). */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (readProcStat(Number(name))?.ppid === parent) out.push(Number(name));
  }
  return out;
}

/**
 * A forking server's whole CPU (PostgreSQL: the postmaster and its backends), µs: the parent's utime+stime, every
 * live child's utime+stime, plus the parent's cutime+cstime, which holds the time of the children it has reaped. A
 * backend that exits within a window is thus still counted in the window's delta.
 */
export function processTreeCpuMicros(parent: number): number | undefined {
  const root = readProcStat(parent);
  if (root === undefined) return undefined;
  let ticks = root.utime + root.stime + root.cutime + root.cstime;
  for (const child of childPids(parent)) {
    const s = readProcStat(child);
    if (s !== undefined) ticks += s.utime + s.stime;
  }
  return ticksToMicros(ticks);
}

/** A process (or process tree) whose CPU the bench reads. `read` returns µs, undefined when it is not running. */
export type CpuProbe = { readonly name: string; readonly read: () => number | undefined };

export function processProbe(name: string, pid: number): CpuProbe {
  return { name, read: () => processCpuMicros(pid) };
}

export function processTreeProbe(name: string, pid: number): CpuProbe {
  return { name, read: () => processTreeCpuMicros(pid) };
}

/** One reading of every probe, by name, with the wall-clock time it was taken. */
export type CpuSample = { at: number; micros: ReadonlyMap<string, number | undefined> };

export function sampleCpu(probes: readonly CpuProbe[]): CpuSample {
  return { at: performance.now(), micros: new Map(probes.map((p) => [p.name, p.read()])) };
}

/** CPU used by each probe between two samples, µs (undefined when the process was not running at either end). */
export function cpuBetween(start: CpuSample, end: CpuSample): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const [name, before] of start.micros) {
    const after = end.micros.get(name);
    out.set(name, before === undefined || after === undefined ? undefined : after - before);
  }
  return out;
}
