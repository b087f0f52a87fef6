import type { Logger } from '../logger.js';

export type ShutdownStep = { name: string; run: () => Promise<void> };

/**
 * SIGTERM/SIGINT drain the service: each step runs in order (stop accepting, let in-flight work finish, flush the
 * publisher, commit offsets …) within `timeoutMs`, then the process exits 0 (1 when a step failed or timed out).
 * A second signal exits at once with 130.
 */
export function handleShutdown(log: Logger, steps: () => readonly ShutdownStep[], timeoutMs = 30_000): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    draining = true;
    log.info({ signal, timeoutMs }, 'draining');
    const timer = setTimeout(() => {
      log.error('drain timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    void (async () => {
      let code = 0;
      for (const step of steps()) {
        try {
          await step.run();
          log.info({ step: step.name }, 'drain step done');
        } catch (err) {
          code = 1;
          log.error({ step: step.name, err: { message: (err as Error).message } }, 'drain step failed');
        }
      }
      log.info({ code }, 'drained; exiting');
      process.exit(code);
    })();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
