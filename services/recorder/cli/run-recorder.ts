import { parseArgs } from 'node:util';
import { ConfigError } from '../../shared/config/errors.js';
import { createLogger } from '../../shared/logger.js';
import { handleShutdown } from '../../shared/runtime/shutdown.js';
import { loadRecorderConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { startRecorder } from '../recorder.js';
import { processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { reportCliError } from './run-sessions.js';

export const RECORDER_USAGE = `usage: gatehouse recorder --config FILE

Consumes the session and approval topics and writes every event to ClickHouse; serves the replay API.
`;

/** `gatehouse recorder --config FILE`: runs until SIGTERM/SIGINT (drains, then exits 0). */
export async function runRecorder(argv: string[], io: CliIo = processIo): Promise<number> {
  let file: string;
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      io.stdout(RECORDER_USAGE);
      return 0;
    }
    if (values.config === undefined) throw new UsageError('--config FILE is required');
    file = values.config;
  } catch (err) {
    return reportCliError(err, io, RECORDER_USAGE);
  }
  let config;
  try {
    config = loadRecorderConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`gatehouse recorder: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ service: 'recorder', nodeId: config.nodeId, level: config.logLevel });
  let recorder;
  try {
    recorder = await startRecorder(config, log);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    log.fatal({ err: { code: e.code, message: e.message } }, 'recorder failed to start');
    return 1;
  }
  const running = recorder;
  handleShutdown(log, () => [{ name: 'recorder', run: () => running.stop() }]);
  try {
    await running.done;
    return 0;
  } catch {
    await running.stop({ timeoutMs: 5000 }).catch(() => undefined);
    return 1;
  }
}
