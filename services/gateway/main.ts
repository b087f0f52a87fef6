import { parseArgs } from 'node:util';
import { loadConfigFile } from '../shared/config/load-config.js';
import { createLogger } from '../shared/logger.js';
import { handleShutdown } from '../shared/runtime/shutdown.js';
import { gatewayConfigSchema } from './config.js';
import { startGateway } from './gateway.js';

/** `gatehouse gateway --config FILE` */
export async function runGateway(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) {
    process.stderr.write('usage: gatehouse gateway --config FILE\n');
    return 2;
  }
  const config = loadConfigFile(gatewayConfigSchema, values.config);
  const log = createLogger({ service: 'gateway', nodeId: config.nodeId, level: config.logLevel });
  const gateway = await startGateway(config, log);
  handleShutdown(log, () => [
    {
      name: 'drain sessions and flush audit log',
      run: async () => {
        const { unflushed } = await gateway.stop();
        if (unflushed > 0) throw new Error(`${unflushed} audit events were not acknowledged by Kafka`);
      },
    },
  ]);
  return new Promise<number>(() => undefined); // runs until a signal
}
