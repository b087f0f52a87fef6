import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A long-running process the bench starts (gateway, recorder, PgBouncer, OPA): output to a log file, readiness
 * polled with a bound, stopped with SIGTERM (then SIGKILL after a bound) by its own pid only.
 */
export type ChildService = {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. Idempotent. */
  stop(timeoutMs?: number): Promise<number | string>;
};

export function startChildService(
  name: string,
  command: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): ChildService {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, { env, stdio: ['ignore', log, log] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  let stopping: Promise<number | string> | undefined;
  return {
    name,
    pid: child.pid,
    logFile,
    exited,
    stop(timeoutMs = 15_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return exited;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopping;
    },
  };
}

/** The last `lines` lines of a service's log, for error messages. */
export function logTail(service: Pick<ChildService, 'logFile'>, lines = 20): string {
  try {
    return readFileSync(service.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

/** Polls `ready` every 100 ms until it is true; throws (with the log's tail) when the service exits or after `timeoutMs`. */
export async function waitReady(
  service: ChildService,
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  let exitCode: number | string | undefined;
  void service.exited.then((c) => (exitCode = c));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(`${service.name} exited (${exitCode}) before ${what}:\n${logTail(service)}`);
    }
    if (await ready()) return;
    if (Date.now() > deadline) {
      throw new Error(`${service.name}: no ${what} within ${timeoutMs} ms:\n${logTail(service)}`);
    }
    await sleep(100);
  }
}

/** true when a TCP connection to 127.0.0.1:`port` opens (within 1 s). */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** true when GET `url` answers 2xx (within 2 s). */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false; // not listening yet
  }
}
