import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../services/shared/logger.js';

type StartDemo = (o: {
  host: string;
  port: number;
  token: string;
}) => Promise<{ url: string; close(): Promise<void> }>;

/**
 * The command line of a demo upstream of the local stack (`--port N --token-file FILE [--host ADDR]`): starts it
 * with the token the gateway will present, serves until SIGINT/SIGTERM.
 */
export async function runDemoUpstream(name: string, defaultPort: number, start: StartDemo): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: String(defaultPort) },
      'token-file': { type: 'string' },
    },
  });
  const log = createLogger({ service: name });
  const tokenFile = values['token-file'];
  if (tokenFile === undefined) {
    log.fatal('--token-file is required');
    process.exit(2);
  }
  const server = await start({
    host: values.host,
    port: Number(values.port),
    token: readFileSync(tokenFile, 'utf8').trim(),
  });
  log.info({ url: server.url }, `${name} ready`);
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
