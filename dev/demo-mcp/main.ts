import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../../services/shared/logger.js';
import { startDemoMcpServer } from './demo-server.js';

/**
 * `node --import tsx dev/demo-mcp/main.ts --port N --token-file FILE [--host ADDR]`: the demo upstream MCP
 * server of the local stack (deploy/stack/mcp-demo.sh). Serves until SIGINT/SIGTERM.
 */
const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '12380' },
    'token-file': { type: 'string' },
  },
});
const log = createLogger({ service: 'demo-mcp' });
const tokenFile = values['token-file'];
if (tokenFile === undefined) {
  log.fatal('--token-file is required');
  process.exit(2);
}
const server = await startDemoMcpServer({
  host: values.host,
  port: Number(values.port),
  token: readFileSync(tokenFile, 'utf8').trim(),
});
log.info({ url: server.url }, 'demo MCP server ready');
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
