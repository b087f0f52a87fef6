import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../../services/shared/logger.js';
import { startDemoHttpServer } from './demo-server.js';

/**
 * `node --import tsx dev/demo-http/main.ts --port N --token-file FILE [--host ADDR]`: the demo upstream API of
 * the local stack (deploy/stack/http-demo.sh). Serves until SIGINT/SIGTERM.
 */
const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '12390' },
    'token-file': { type: 'string' },
  },
});
const log = createLogger({ service: 'demo-http' });
const tokenFile = values['token-file'];
if (tokenFile === undefined) {
  log.fatal('--token-file is required');
  process.exit(2);
}
const server = await startDemoHttpServer({
  host: values.host,
  port: Number(values.port),
  token: readFileSync(tokenFile, 'utf8').trim(),
});
log.info({ url: server.url }, 'demo HTTP API ready');
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
