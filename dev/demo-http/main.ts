import { runDemoUpstream } from '../demo-main.js';
import { startDemoHttpServer } from './demo-server.js';

/**
 * `node --import tsx dev/demo-http/main.ts --port N --token-file FILE [--host ADDR]`: the demo upstream API of
 * the local stack (deploy/stack/http-demo.sh). Serves until SIGINT/SIGTERM.
 */
await runDemoUpstream('demo-http', 12390, startDemoHttpServer);
