import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { ConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load-config.js';
import type { Frozen } from '../config/load-config.js';
import type { ShutdownConfig } from '../config/sections.js';
import { createLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';

/** A started service as the runner drives it. */
export type RunningService = {
  /** Stops accepting, lets in-flight work finish within `drainMs`, flushes; rejects when something was lost. */
  stop(drainMs: number): Promise<void>;
  /** Settles when the service ended on its own; a rejection is a fatal runtime error (exit 1). */
  readonly done?: Promise<void>;
};

/** What `build*()` returns: the parts wired, nothing listening yet. */
export type StartableService<R> = { start(): Promise<R> };

type BaseConfig = { readonly logLevel: string; readonly shutdown: ShutdownConfig };

export type ServiceSpec<S extends z.ZodType, R> = {
  /** `gatehouse <name>`; also the `service` field of every log line. */
  name: string;
  usage: string;
  schema: S;
  nodeId: (config: Frozen<z.output<S>>) => string;
  build: (config: Frozen<z.output<S>>, deps: { logger: Logger }) => StartableService<R>;
  /** Adapts the started service to the runner (stop with a drain bound, `done`). */
  running: (service: R, log: Logger) => RunningService;
};

/** What the runner touches outside itself, injectable for tests. */
export type RunnerIo = {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  onSignal: (signal: NodeJS.Signals, handler: () => void) => void;
  exit: (code: ExitCode) => void;
  logDestination?: NodeJS.WritableStream;
};

export const processRunnerIo: RunnerIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
};

/** The process's signals and exit with a command's own output streams. */
export function runnerIo(io: Pick<RunnerIo, 'stdout' | 'stderr'>): RunnerIo {
  return { ...processRunnerIo, stdout: io.stdout, stderr: io.stderr };
}

const errorFields = (err: unknown) => {
  const e = err as { code?: string; message?: string };
  return { code: e.code, message: e.message };
};

/**
 * `gatehouse <service> --config FILE`, the same for every service: parse the YAML with the service's schema →
 * build → start → wait for SIGTERM/SIGINT → drain within `shutdown.drainTimeoutMs` → exit (codes: `EXIT`).
 * Resolves with the exit code; once running, `io.exit` is called with it too.
 */
export async function runService<S extends z.ZodType, R>(
  spec: ServiceSpec<S, R>,
  argv: readonly string[],
  io: RunnerIo = processRunnerIo,
): Promise<ExitCode> {
  const prefix = `gatehouse ${spec.name}`;
  let file: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      io.stdout(spec.usage);
      return EXIT.ok;
    }
    file = values.config;
  } catch (err) {
    io.stderr(`${prefix}: ${(err as Error).message}\n\n${spec.usage}`);
    return EXIT.usage;
  }
  if (file === undefined) {
    io.stderr(`${prefix}: --config FILE is required\n\n${spec.usage}`);
    return EXIT.usage;
  }
  let config: Frozen<z.output<S>> & BaseConfig;
  try {
    config = loadConfigFile(spec.schema, file) as Frozen<z.output<S>> & BaseConfig;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${prefix}: ${err.message}\n`);
    return EXIT.usage;
  }
  const log = createLogger({
    service: spec.name,
    nodeId: spec.nodeId(config),
    level: config.logLevel,
    ...(io.logDestination ? { destination: io.logDestination } : {}),
  });
  let running: RunningService;
  try {
    running = spec.running(await spec.build(config, { logger: log }).start(), log);
  } catch (err) {
    log.fatal({ err: errorFields(err) }, `${spec.name} failed to start`);
    io.stderr(`${prefix}: could not start: ${(err as Error).message}\n`);
    return EXIT.unavailable;
  }
  return new Promise<ExitCode>((resolve) => {
    let exiting = false;
    const exit = (code: ExitCode): void => {
      if (exiting) return;
      exiting = true;
      log.info({ code }, 'exiting');
      resolve(code);
      io.exit(code);
    };
    let draining = false;
    const drain = (reason: string, code: ExitCode): void => {
      if (draining) return;
      draining = true;
      const { drainTimeoutMs, exitTimeoutMs } = config.shutdown;
      log.info({ reason, drainTimeoutMs, exitTimeoutMs }, 'draining');
      const timer = setTimeout(() => {
        log.error({ exitTimeoutMs }, 'drain timed out');
        exit(EXIT.failure);
      }, exitTimeoutMs);
      timer.unref();
      running.stop(drainTimeoutMs).then(
        () => {
          clearTimeout(timer);
          log.info('drained');
          exit(code);
        },
        (err: unknown) => {
          clearTimeout(timer);
          log.error({ err: errorFields(err) }, 'drain failed');
          exit(EXIT.failure);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals) => (): void => {
      if (draining) {
        log.warn({ signal }, 'second signal: exiting now');
        exit(EXIT.interrupted);
        return;
      }
      drain(signal, EXIT.ok);
    };
    io.onSignal('SIGTERM', onSignal('SIGTERM'));
    io.onSignal('SIGINT', onSignal('SIGINT'));
    running.done?.then(
      () => {
        if (!draining) exit(EXIT.ok);
      },
      (err: unknown) => {
        log.fatal({ err: errorFields(err) }, `${spec.name} failed`);
        drain('fatal error', EXIT.failure);
      },
    );
  });
}
