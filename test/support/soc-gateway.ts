import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoHttpServer } from '../../dev/demo-http/demo-server.js';
import type { RunningDemoHttp } from '../../dev/demo-http/demo-server.js';
import { startDemoMcpServer } from '../../dev/demo-mcp/demo-server.js';
import type { RunningDemoServer } from '../../dev/demo-mcp/demo-server.js';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import type { RunningGateway } from '../../services/gateway/gateway.js';
import { parseConfig } from '../../services/shared/config/load-config.js';
import {
  buildPolicyBundle,
  fixtureKafkaSection,
  fixtureSessionsTopic,
  selfSignedCert,
  stackPgUpstream,
  startFixtureGateway,
} from './gateway.js';
import { generateKey } from './ssh-gateway.js';
import { stackValue } from './stack.js';

/**
 * One gateway node with all four listeners (PostgreSQL, SSH, MCP, HTTP) behind one IdP and one sessions topic, in
 * front of the stack's PostgreSQL and sshd and the demo MCP and HTTP servers: one identity can use every protocol,
 * so a recorder of `sessionsTopic` sees its whole timeline. No approval service: requests that need approval are
 * refused with the policy's reasons.
 */
export type SocGatewayFixture = {
  idp: RunningIdp;
  gateway: RunningGateway;
  sessionsTopic: string;
  pgPort: number;
  sshPort: number;
  /** `<origin>/mcp/demo-mcp` */
  mcpEndpoint: string;
  /** `http://127.0.0.1:<port>/demo-http` */
  httpBase: string;
  stop(): Promise<void>;
};

export async function startSocGatewayFixture(): Promise<SocGatewayFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-soc-'));
  const tokenFile = (name: string, token: string): string => {
    const file = join(dir, name);
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    return file;
  };
  const mcpToken = `upstream-${randomUUID()}`;
  const httpToken = `upstream-${randomUUID()}`;
  const mcp: RunningDemoServer = await startDemoMcpServer({ token: mcpToken });
  const http: RunningDemoHttp = await startDemoHttpServer({ token: httpToken });
  const idp = await startIdp({ port: 0, audience: 'gatehouse' });
  const sessionsTopic = fixtureSessionsTopic('soc');
  const config = parseConfig(
    gatewayConfigSchema,
    {
      nodeId: 'soc-test-node',
      health: { port: 0 },
      listeners: {
        postgres: { port: 0, tls: selfSignedCert(dir) },
        ssh: { port: 0, hostKey: generateKey(dir, 'gateway_host_key') },
        mcp: { port: 0, allowPlaintext: true },
        http: { port: 0, allowPlaintext: true },
      },
      oidc: { issuer: idp.issuer, audience: 'gatehouse', clockToleranceSeconds: 0 },
      kafka: fixtureKafkaSection(sessionsTopic),
      policy: { bundleDir: buildPolicyBundle() },
      connections: [
        {
          name: 'demo-pg',
          protocol: 'postgres',
          upstream: stackPgUpstream(),
        },
        {
          name: 'demo-ssh',
          protocol: 'ssh',
          upstream: {
            host: stackValue('SSH_TARGET_HOST'),
            port: Number(stackValue('SSH_TARGET_PORT')),
            user: stackValue('SSH_TARGET_USER'),
            privateKey: { file: stackValue('SSH_TARGET_KEY_FILE') },
            hostKey: { file: stackValue('SSH_TARGET_HOST_KEY_FILE') },
          },
        },
        {
          name: 'demo-mcp',
          protocol: 'mcp',
          upstream: { url: mcp.url, auth: { type: 'bearer', token: { file: tokenFile('mcp', mcpToken) } } },
        },
        {
          name: 'demo-http',
          protocol: 'http',
          upstream: {
            url: http.url,
            auth: { type: 'bearer', token: { file: tokenFile('http', httpToken) } },
          },
        },
      ],
    },
    'soc test gateway config',
  );
  const { gateway } = await startFixtureGateway(config);
  return {
    idp,
    gateway,
    sessionsTopic,
    pgPort: gateway.postgresPort!,
    sshPort: gateway.sshPort!,
    mcpEndpoint: `${gateway.mcp!.origin}/mcp/demo-mcp`,
    httpBase: `http://127.0.0.1:${gateway.httpPort!}/demo-http`,
    async stop() {
      await gateway.stop(2_000);
      await idp.stop();
      await mcp.close();
      await http.close();
    },
  };
}
