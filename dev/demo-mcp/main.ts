import { runDemoUpstream } from '../demo-main.js';
import { startDemoMcpServer } from './demo-server.js';

/**
 * `node --import tsx dev/demo-mcp/main.ts --port N --token-file FILE [--host ADDR]`: the demo upstream MCP
 * server of the local stack (deploy/stack/mcp-demo.sh). Serves until SIGINT/SIGTERM.
 */
await runDemoUpstream('demo-mcp', 12380, startDemoMcpServer);
