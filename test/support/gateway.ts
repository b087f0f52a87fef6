import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../services/shared/config/load-config.js';
import { createLogger } from '../../services/shared/logger.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import type { GatewayConfig } from '../../services/gateway/config.js';
import { buildGateway } from '../../services/gateway/gateway.js';
import type { GatewayDeps, RunningGateway } from '../../services/gateway/gateway.js';
import { startIdp } from '../../dev/idp/index.js';
import type { StartIdpOptions } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import type { ClickHouseOptions } from '../../services/recorder/clickhouse/client.js';
import { parseRecorderConfig } from '../../services/recorder/config.js';
import { buildRecorder } from '../../services/recorder/recorder.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import {
  approvalRequestsTopic,
  approvalTestConfig,
  startTestApprovalService,
  testTrustedKeys,
} from './approval.js';
import { brokerCount, testKafka, testLogger } from './kafka.js';
import { recorderClickHouse } from './clickhouse.js';
import { kafkaConnection, PROJECT_ROOT, stackValue } from './stack.js';

/**
 * Builds the example policy bundle with the stack's opa into a temporary folder. `editData` may change the
 * policy's configuration document (policies/gatehouse/data.json) first, e.g. to shorten an approval window.
 */
export function buildPolicyBundle(editData?: (data: Record<string, unknown>) => void): string {
  const out = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  let src = join(PROJECT_ROOT, 'policies', 'gatehouse');
  if (editData) {
    const copy = mkdtempSync(join(tmpdir(), 'gatehouse-policy-src-'));
    cpSync(src, copy, { recursive: true });
    const data = JSON.parse(readFileSync(join(copy, 'data.json'), 'utf8')) as Record<string, unknown>;
    editData(data);
    writeFileSync(join(copy, 'data.json'), JSON.stringify(data));
    src = copy;
  }
  execFileSync('bash', [join(PROJECT_ROOT, 'policies', 'build.sh'), out, src], {
    env: { ...process.env, OPA_BIN: stackValue('OPA_BIN') },
    stdio: 'pipe',
  });
  return out;
}

/** A self-signed certificate for 127.0.0.1/localhost, as local development uses. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** A log destination that keeps every line (JSON), so tests can search what the service logged. */
export function captureLogs(): { logs: string[]; destination: Writable } {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { logs, destination };
}

/** A fresh sessions topic name; its approvals topics are `<name>.approvals` and `<name>.approvals.requests`. */
export function fixtureSessionsTopic(prefix: string): string {
  return `test.${prefix}.${randomUUID().slice(0, 8)}`;
}

/** The `kafka` section of a test gateway: the gateway's principal, its topics (created at start, as in production). */
export function fixtureKafkaSection(sessionsTopic: string) {
  const rf = Math.min(3, brokerCount());
  const approvals = `${sessionsTopic}.approvals`;
  return {
    ...kafkaConnection('gateway'),
    topics: {
      sessions: sessionsTopic,
      approvals,
      approvalRequests: approvalRequestsTopic(approvals),
      partitions: 6,
      replicationFactor: rf,
      minInsyncReplicas: rf >= 3 ? 2 : 1,
    },
  };
}

/** An approval service on the approvals topic of `sessionsTopic`, trusted by the fixture's gateway. */
export async function startFixtureApproval(
  sessionsTopic: string,
  idp: RunningIdp,
): Promise<RunningApprovalService> {
  const topic = `${sessionsTopic}.approvals`;
  const rf = Math.min(3, brokerCount());
  await ensureTopics(testKafka(), [
    { name: topic, partitions: 6, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 },
  ]);
  return startTestApprovalService(approvalTestConfig({ topic, idp }));
}

/** The `approvals` section that points a test gateway at `approval`. */
export function fixtureApprovalsSection(approval: RunningApprovalService) {
  return { url: approval.url, trustedKeys: testTrustedKeys() };
}

/**
 * Starts a gateway node the way `gatehouse gateway` does (buildGateway → start), logging into `logs` (level debug)
 * unless `deps.logger` is given.
 */
export async function startFixtureGateway(
  config: GatewayConfig,
  deps: GatewayDeps = {},
): Promise<{ gateway: RunningGateway; logs: string[] }> {
  const { logs, destination } = captureLogs();
  const logger = createLogger({ service: 'gateway', nodeId: config.nodeId, level: 'debug', destination });
  const gateway = await buildGateway(config, { logger, ...deps }).start();
  return { gateway, logs };
}

/** The `upstream` of a PostgreSQL connection to the stack's server (default: its demo database). */
export function stackPgUpstream(database = stackValue('PG_TARGET_DATABASE')) {
  return {
    host: stackValue('PG_TARGET_HOST'),
    port: Number(stackValue('PG_TARGET_PORT')),
    database,
    user: stackValue('PG_TARGET_USER'),
    password: { file: stackValue('PG_TARGET_PASSWORD_FILE') },
  };
}

/** The stack's PostgreSQL targets as gateway connections: `demo-pg` (the seeded demo database) and `demo-pgbench`. */
export function fixturePgConnections() {
  return [
    { name: 'demo-pg', protocol: 'postgres' as const, upstream: stackPgUpstream(), tags: { env: 'demo' } },
    {
      name: 'demo-pgbench',
      protocol: 'postgres' as const,
      upstream: stackPgUpstream(stackValue('PG_TARGET_PGBENCH_DATABASE')),
    },
  ];
}

/** Everything a gateway test needs: a real OIDC provider, a real gateway node, and the captured log lines. */
export type GatewayFixture = {
  idp: RunningIdp;
  approval: RunningApprovalService | undefined;
  gateway: RunningGateway;
  sessionsTopic: string;
  logs: string[];
  dir: string;
  pgPort: number;
  stop(): Promise<void>;
};

export async function startGatewayFixture(
  opts: {
    allowPlaintext?: boolean;
    approvals?: boolean;
    editPolicyData?: (data: Record<string, unknown>) => void;
    publisher?: { failClosedAfterMs?: number; durableTimeoutMs?: number };
    postgres?: { authTimeoutMs?: number; maxSessions?: number };
    loginAudit?: { burst?: number; perSecond?: number; summaryIntervalMs?: number };
    /** Dev IdP options beyond the port and audience (e.g. `users`, which turns its login form on). */
    idp?: Pick<StartIdpOptions, 'users'>;
  } = {},
): Promise<GatewayFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-gw-'));
  const idp = await startIdp({ port: 0, audience: 'gatehouse', ...opts.idp });
  const bundleDir = buildPolicyBundle(opts.editPolicyData);
  const tls = selfSignedCert(dir);
  const sessionsTopic = fixtureSessionsTopic('sessions');
  const approval = opts.approvals ? await startFixtureApproval(sessionsTopic, idp) : undefined;
  const config = parseConfig(
    gatewayConfigSchema,
    {
      nodeId: 'test-node',
      logLevel: 'debug',
      health: { port: 0 },
      listeners: {
        postgres: { port: 0, tls, allowPlaintext: opts.allowPlaintext ?? false, ...opts.postgres },
      },
      ...(opts.loginAudit ? { loginAudit: opts.loginAudit } : {}),
      oidc: { issuer: idp.issuer, audience: 'gatehouse', clockToleranceSeconds: 0 },
      kafka: {
        ...fixtureKafkaSection(sessionsTopic),
        ...(opts.publisher ? { publisher: opts.publisher } : {}),
      },
      policy: { bundleDir },
      ...(approval ? { approvals: fixtureApprovalsSection(approval) } : {}),
      connections: fixturePgConnections(),
    },
    'test gateway config',
  );
  const { gateway, logs } = await startFixtureGateway(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return {
    idp,
    approval,
    gateway,
    sessionsTopic,
    logs,
    dir,
    pgPort: gateway.postgresPort!,
    async stop() {
      await gateway.stop(2_000);
      await approval?.stop();
      await idp.stop();
    },
  };
}

/**
 * A recorder of the fixture's sessions topic into a test database (the `opts` of `testDatabase()`), with the
 * recorder's own Kafka principal and its replay API behind the fixture's IdP (analysts need group soc).
 */
export function startFixtureRecorder(
  fx: Pick<GatewayFixture, 'sessionsTopic' | 'idp'>,
  name: string,
  database: Pick<ClickHouseOptions, 'url' | 'database'>,
): Promise<Recorder> {
  return buildRecorder(
    parseRecorderConfig({
      nodeId: `rec-${name}`,
      groupId: `test-${name}-recorder-${Date.now()}`,
      kafka: {
        ...kafkaConnection('recorder'),
        topics: { sessions: fx.sessionsTopic, approvals: `${fx.sessionsTopic}.approvals`, provision: false },
      },
      clickhouse: recorderClickHouse(database),
      batch: { maxRows: 500, maxDelayMs: 200 },
      http: { port: 0 },
      health: { port: 0 },
      retentionDays: 0,
      api: { oidc: { issuer: fx.idp.issuer, audience: 'gatehouse' } },
    }),
    { logger: testLogger },
  ).start();
}
