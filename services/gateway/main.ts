import { runService } from '../shared/runtime/run-service.js';
import type { RunnerIo } from '../shared/runtime/run-service.js';
import { gatewayConfigSchema } from './config.js';
import { buildGateway } from './gateway.js';

export const GATEWAY_USAGE = `usage: gatehouse gateway --config FILE

Runs a gateway node: the PostgreSQL and SSH listeners, OIDC logins, policy, approvals, masking, and the audit log
on Kafka. Runs until SIGTERM/SIGINT (drains, then exits 0); exit codes: README.md, "Exit codes".
`;

/** `gatehouse gateway --config FILE` */
export function runGateway(argv: readonly string[], io?: RunnerIo): Promise<number> {
  return runService(
    {
      name: 'gateway',
      usage: GATEWAY_USAGE,
      schema: gatewayConfigSchema,
      nodeId: (config) => config.nodeId,
      build: (config, deps) => buildGateway(config, deps),
      running: (gateway) => ({
        async stop(drainMs) {
          const { unflushed } = await gateway.stop(drainMs);
          if (unflushed > 0) throw new Error(`${unflushed} audit events were not acknowledged by Kafka`);
        },
      }),
    },
    argv,
    io,
  );
}
