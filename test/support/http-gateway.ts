import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoHttpServer } from '../../services/demo-http/demo-server.js';
import type { RunningDemoHttp } from '../../services/demo-http/demo-server.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import { startGateway } from '../../services/gateway/gateway.js';
import type { RunningGateway } from '../../services/gateway/gateway.js';
import { startIdp } from '../../services/idp/index.js';
import type { RunningIdp } from '../../services/idp/index.js';
import { parseConfig } from '../../services/shared/config/load-config.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import {
  approvalRequestsTopic,
  approvalTestConfig,
  startTestApprovalService,
  testTrustedKeys,
} from './approval.js';
import { buildPolicyBundle } from './gateway.js';
import { brokerCount, testKafka, testLogger } from './kafka.js';
import { kafkaConnection } from './stack.js';

/** A gateway node with only the HTTP proxy, in front of the real demo API, with approvals. */
export type HttpGatewayFixture = {
  idp: RunningIdp;
  approval: RunningApprovalService;
  gateway: RunningGateway;
  upstream: RunningDemoHttp;
  /** The gateway's credential for the upstream (never any client's token). */
  upstreamToken: string;
  sessionsTopic: string;
  /** `http://127.0.0.1:<port>/<connection>` */
  base(connection?: string): string;
  stop(): Promise<void>;
};

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startHttpGatewayFixture(
  listener: Record<string, unknown> = {},
): Promise<HttpGatewayFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-http-'));
  const upstreamToken = `upstream-${randomUUID()}`;
  const tokenFile = join(dir, 'upstream-token');
  writeFileSync(tokenFile, `${upstreamToken}\n`, { mode: 0o600 });
  const upstream = await startDemoHttpServer({ token: upstreamToken });
  const idp = await startIdp({ port: 0, audience: 'gatehouse' });
  const sessionsTopic = `test.http.${randomUUID().slice(0, 8)}`;
  const approvalsTopic = `${sessionsTopic}.approvals`;
  const rf = Math.min(3, brokerCount());
  await ensureTopics(testKafka(), [
    { name: approvalsTopic, partitions: 6, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 },
  ]);
  const approval = await startTestApprovalService(approvalTestConfig({ topic: approvalsTopic, idp }));
  const auth = { type: 'bearer', token: { file: tokenFile } };
  const config = parseConfig(
    gatewayConfigSchema,
    {
      nodeId: 'test-http-node',
      health: { port: 0 },
      listeners: { http: { port: 0, allowPlaintext: true, ...listener } },
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
      approvals: { url: approval.url, trustedKeys: testTrustedKeys() },
      connections: [
        { name: 'demo-http', protocol: 'http', upstream: { url: upstream.url, auth }, tags: { env: 'demo' } },
        {
          name: 'demo-http-down',
          protocol: 'http',
          upstream: { url: `http://127.0.0.1:${await closedPort()}`, auth },
        },
        {
          name: 'demo-http-slow',
          protocol: 'http',
          upstream: { url: upstream.url, auth, headersTimeoutMs: 500 },
        },
      ],
    },
    'test HTTP gateway config',
  );
  const gateway = await startGateway(config, testLogger);
  const origin = `http://127.0.0.1:${gateway.httpPort!}`;
  return {
    idp,
    approval,
    gateway,
    upstream,
    upstreamToken,
    sessionsTopic,
    base: (connection = 'demo-http') => `${origin}/${connection}`,
    async stop() {
      await gateway.stop(2_000);
      await approval.stop();
      await idp.stop();
      await upstream.close();
    },
  };
}
