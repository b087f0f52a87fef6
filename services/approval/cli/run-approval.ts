import { runnerIo, runService } from '../../shared/runtime/run-service.js';
import { approvalConfigSchema } from '../config.js';
import { buildApproval } from '../service.js';
import { processIo } from './cli-io.js';
import type { ApprovalCliIo } from './cli-io.js';

export const APPROVAL_USAGE = `usage: gatehouse approval --config FILE

Runs an approval-service instance: folds the approvals topic, serves the reviewer web page, the HTTP and gRPC APIs,
and sends webhook notifications. Runs until SIGTERM/SIGINT (drains, then exits 0); exit codes: README.md, "Exit codes".
`;

/** `gatehouse approval --config FILE` */
export function runApproval(argv: readonly string[], io: ApprovalCliIo = processIo): Promise<number> {
  return runService(
    {
      name: 'approval',
      usage: APPROVAL_USAGE,
      schema: approvalConfigSchema,
      nodeId: (config) => config.instanceId,
      build: (config, deps) => buildApproval(config, deps),
      running: (service, log) => {
        void service.ready.then(() => log.info('approval log read; ready'));
        return { stop: (drainMs) => service.stop({ timeoutMs: drainMs }) };
      },
    },
    argv,
    runnerIo(io),
  );
}
