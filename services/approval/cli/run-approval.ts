import { parseArgs } from 'node:util';
import { ConfigError } from '../../shared/config/errors.js';
import { createLogger } from '../../shared/logger.js';
import { handleShutdown } from '../../shared/runtime/shutdown.js';
import { loadApprovalConfig } from '../config.js';
import { startApprovalService } from '../service.js';
import { processIo } from './cli-io.js';
import type { ApprovalCliIo } from './cli-io.js';

export const APPROVAL_USAGE = `usage: gatehouse approval --config FILE

Runs an approval-service instance: folds the approvals topic, serves the reviewer web page, the HTTP and gRPC APIs,
and sends webhook notifications. Runs until SIGTERM/SIGINT (drains, then exits 0).
`;

/** `gatehouse approval --config FILE` */
export async function runApproval(argv: string[], io: ApprovalCliIo = processIo): Promise<number> {
  let file: string | undefined;
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      io.stdout(APPROVAL_USAGE);
      return 0;
    }
    file = values.config;
  } catch (err) {
    io.stderr(`gatehouse approval: ${(err as Error).message}\n\n${APPROVAL_USAGE}`);
    return 2;
  }
  if (file === undefined) {
    io.stderr(`gatehouse approval: --config FILE is required\n\n${APPROVAL_USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadApprovalConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`gatehouse approval: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ service: 'approval', nodeId: config.instanceId, level: config.logLevel });
  let service;
  try {
    service = await startApprovalService(config, log);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    log.fatal({ err: { code: e.code, message: e.message } }, 'approval service failed to start');
    return 1;
  }
  const running = service;
  void running.ready.then(() => log.info('approval log read; ready'));
  handleShutdown(log, () => [{ name: 'approval service', run: () => running.stop() }]);
  return new Promise<number>(() => undefined); // runs until a signal
}
