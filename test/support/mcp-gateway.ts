import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoMcpServer } from '../../dev/demo-mcp/demo-server.js';
import type { RunningDemoServer } from '../../dev/demo-mcp/demo-server.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import type { RunningGateway } from '../../services/gateway/gateway.js';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import { parseConfig } from '../../services/shared/config/load-config.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import { approvalRequestsTopic, approvalTestConfig, startTestApprovalService } from './approval.js';
import { buildPolicyBundle, fixtureApprovalsSection, startFixtureGateway } from './gateway.js';
import { brokerCount, testKafka, testLogger } from './kafka.js';
import { kafkaConnection } from './stack.js';

/** A gateway node with only the MCP listener, in front of a real demo MCP server, with approvals. */
export type McpGatewayFixture = {
  idp: RunningIdp;
  approval: RunningApprovalService;
  gateway: RunningGateway;
  upstream: RunningDemoServer;
  /** The gateway's credential for the upstream (never any client's token). */
  upstreamToken: string;
  sessionsTopic: string;
  /** `<origin>/mcp/<connection>` */
  endpoint(connection?: string): string;
  stop(): Promise<void>;
};

export async function startMcpGatewayFixture(): Promise<McpGatewayFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mcp-'));
  const upstreamToken = `upstream-${randomUUID()}`;
  const tokenFile = join(dir, 'upstream-token');
  writeFileSync(tokenFile, `${upstreamToken}\n`, { mode: 0o600 });
  const upstream = await startDemoMcpServer({ token: upstreamToken });
  const idp = await startIdp({ port: 0, audience: 'gatehouse' });
  const sessionsTopic = `test.mcp.${randomUUID().slice(0, 8)}`;
  const approvalsTopic = `${sessionsTopic}.approvals`;
  const rf = Math.min(3, brokerCount());
  await ensureTopics(testKafka(), [
    { name: approvalsTopic, partitions: 6, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 },
  ]);
  const approval = await startTestApprovalService(approvalTestConfig({ topic: approvalsTopic, idp }));
  const config = parseConfig(
    gatewayConfigSchema,
    {
      nodeId: 'test-mcp-node',
      health: { port: 0 },
      listeners: { mcp: { port: 0, allowPlaintext: true, maxBodyBytes: 64 * 1024, idleTimeoutMs: 60_000 } },
      oidc: { issuer: idp.issuer, audience: 'gatehouse', clockToleranceSeconds: 0 },
      kafka: {
        ...kafkaConnection('gateway'),
        topics: {
          sessions: sessionsTopic,
          approvals: approvalsTopic,
          approvalRequests: approvalRequestsTopic(approvalsTopic),
          partitions: 6,
          replicationFactor: rf,
          minInsyncReplicas: rf >= 3 ? 2 : 1,
        },
      },
      policy: { bundleDir: buildPolicyBundle() },
      approvals: fixtureApprovalsSection(approval),
      connections: [
        {
          name: 'demo-mcp',
          protocol: 'mcp',
          upstream: { url: upstream.url, auth: { type: 'bearer', token: { file: tokenFile } } },
          tags: { env: 'demo' },
        },
        {
          // Tokens for this one must name another audience: the fixture's tokens (aud gatehouse) are refused.
          name: 'demo-mcp-strict',
          protocol: 'mcp',
          upstream: { url: upstream.url, auth: { type: 'bearer', token: { file: tokenFile } } },
          audience: 'https://mcp.example.test/demo',
        },
      ],
    },
    'test MCP gateway config',
  );
  const { gateway } = await startFixtureGateway(config, { logger: testLogger });
  const origin = gateway.mcp!.origin;
  return {
    idp,
    approval,
    gateway,
    upstream,
    upstreamToken,
    sessionsTopic,
    endpoint: (connection = 'demo-mcp') => `${origin}/mcp/${connection}`,
    async stop() {
      await gateway.stop(2_000);
      await approval.stop();
      await idp.stop();
      await upstream.close();
    },
  };
}
