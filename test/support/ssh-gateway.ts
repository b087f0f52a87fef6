import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../services/shared/config/load-config.js';
import { createTokenVerifier } from '../../services/shared/identity/index.js';
import { createKafka } from '../../services/shared/log/kafka.js';
import { kafkaSecurity } from '../../services/shared/log/kafka-security.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import type { EventPublisher } from '../../services/shared/log/publisher.js';
import { createLogger } from '../../services/shared/logger.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import type { SshListenerConfig } from '../../services/gateway/config.js';
import { loadPolicyBundle } from '../../services/gateway/policy/index.js';
import type { PolicyEngine } from '../../services/gateway/policy/index.js';
import { LoginRefusals } from '../../services/gateway/login-audit/index.js';
import { createSshDecider, SshListener, sshConnectionsFromConfig } from '../../services/gateway/ssh/index.js';
import type { ContentMaskerFactory, SshApprovalHook } from '../../services/gateway/ssh/index.js';
import { detectorsFor, maskBytes } from '../../services/gateway/masking/index.js';
import { startIdp } from '../../services/idp/index.js';
import type { RunningIdp } from '../../services/idp/index.js';
import { randomUUID } from 'node:crypto';
import { startGateway } from '../../services/gateway/gateway.js';
import type { RunningGateway } from '../../services/gateway/gateway.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import {
  approvalRequestsTopic,
  approvalTestConfig,
  startTestApprovalService,
  testTrustedKeys,
} from './approval.js';
import { brokerCount, testKafka, uniqueTopic } from './kafka.js';
import { kafkaConnection, PROJECT_ROOT, stackValue } from './stack.js';

/** An SSH gateway node in process (the listener wired as services/gateway/gateway.ts does), real IdP and Kafka. */
export type SshGatewayFixture = {
  idp: RunningIdp;
  listener: SshListener;
  publisher: KafkaPublisher;
  port: number;
  sessionsTopic: string;
  /** Every log line of the gateway (JSON). */
  logs: string[];
  dir: string;
  /** The upstream private key the gateway holds (to check it never leaks). */
  upstreamKey: string;
  stop(): Promise<void>;
};

export type SshGatewayFixtureOptions = {
  /** Replaces the example policy bundle (e.g. a stub that allows forwarding). */
  policy?: PolicyEngine;
  contentMasker?: ContentMaskerFactory;
  awaitApproval?: SshApprovalHook;
  /** Wraps the Kafka publisher the listener uses (e.g. to make it refuse, as it does when Kafka is gone). */
  wrapPublisher?: (publisher: EventPublisher) => EventPublisher;
  listener?: Partial<
    Pick<SshListenerConfig, 'idleTimeoutMs' | 'maxSessions' | 'authTimeoutMs' | 'maskFlushMs'>
  >;
  /** Leeway for exp/nbf (default 30 s, as the gateway's; 0 lets a test expire a token quickly). */
  clockToleranceSeconds?: number;
};

/** Builds the example policy bundle with the stack's opa into a temporary folder. */
export function buildPolicyBundle(): string {
  const out = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  execFileSync('bash', [join(PROJECT_ROOT, 'policies', 'build.sh'), out], {
    env: { ...process.env, OPA_BIN: stackValue('OPA_BIN') },
    stdio: 'pipe',
  });
  return out;
}

/** A fresh ed25519 key pair in `dir` (`name` and `name.pub`). */
export function generateKey(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file], { stdio: 'ignore' });
  return file;
}

/** The content masker of services/gateway/masking, as gateway.ts wires it. */
export const contentMasker: ContentMaskerFactory = (names) => {
  const detectors = detectorsFor(names);
  return (data) => maskBytes(data, detectors);
};

/** `text` as a client with these detectors sees it. */
export function masked(names: readonly string[], text: string): string {
  return contentMasker(names)(Buffer.from(text)).toString();
}

export async function startSshGatewayFixture(
  opts: SshGatewayFixtureOptions = {},
): Promise<SshGatewayFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-gw-'));
  const hostKey = generateKey(dir, 'gateway_host_key');
  const otherKey = generateKey(dir, 'not_the_upstream_host_key');
  const idp = await startIdp({ port: 0, audience: 'gatehouse' });
  const sessionsTopic = await uniqueTopic('ssh-sessions');
  const upstream = {
    host: stackValue('SSH_TARGET_HOST'),
    port: Number(stackValue('SSH_TARGET_PORT')),
    user: stackValue('SSH_TARGET_USER'),
    privateKey: { file: stackValue('SSH_TARGET_KEY_FILE') },
    hostKey: { file: stackValue('SSH_TARGET_HOST_KEY_FILE') },
    connectTimeoutMs: 5_000,
  };
  const config = parseConfig(
    gatewayConfigSchema,
    {
      nodeId: 'ssh-test-node',
      logLevel: 'debug',
      listeners: { ssh: { port: 0, hostKey, ...opts.listener } },
      oidc: {
        issuer: idp.issuer,
        audience: 'gatehouse',
        ...(opts.clockToleranceSeconds === undefined
          ? {}
          : { clockToleranceSeconds: opts.clockToleranceSeconds }),
      },
      kafka: {
        ...kafkaConnection('gateway'),
        topics: {
          sessions: sessionsTopic,
          approvals: `${sessionsTopic}.approvals`,
          approvalRequests: approvalRequestsTopic(`${sessionsTopic}.approvals`),
        },
      },
      policy: { bundleDir: '/nonexistent' },
      connections: [
        { name: 'demo-ssh', protocol: 'ssh', upstream, tags: { env: 'demo' } },
        // Same host, but the pinned key is another one: every login must fail.
        {
          name: 'demo-ssh-wrong-pin',
          protocol: 'ssh',
          upstream: { ...upstream, hostKey: { file: `${otherKey}.pub` } },
        },
        // Nothing listens there.
        { name: 'demo-ssh-down', protocol: 'ssh', upstream: { ...upstream, port: 1 } },
      ],
    },
    'ssh test gateway config',
  );
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ service: 'gateway', nodeId: config.nodeId, level: 'debug', destination });
  const kafka = createKafka({
    brokers: config.kafka.brokers,
    clientId: 'ssh-test-gateway',
    security: kafkaSecurity(config.kafka),
    logger: log,
  });
  const publisher = new KafkaPublisher(kafka, log, config.kafka.publisher);
  publisher.start();
  const policy = opts.policy ?? (await loadPolicyBundle(buildPolicyBundle()));
  const verifier = createTokenVerifier({
    issuer: config.oidc.issuer,
    audience: config.oidc.audience,
    agentClaim: config.oidc.agentClaim,
    groupsClaim: config.oidc.groupsClaim,
    clockToleranceSeconds: config.oidc.clockToleranceSeconds,
  });
  const sshConfig = config.listeners.ssh!;
  const listener = new SshListener({
    config: sshConfig,
    nodeId: config.nodeId,
    hostKey: readFileSync(sshConfig.hostKey),
    connections: sshConnectionsFromConfig(config.connections),
    maxEventBytes: config.kafka.publisher.maxEventBytes,
    verifyToken: (token) => verifier.verify(token),
    publisher: opts.wrapPublisher ? opts.wrapPublisher(publisher) : publisher,
    sessionsTopic,
    auditBacklog: () => publisher.stats().bufferedBytes,
    decider: ({ audit, identity, connection, clientAddr, log: sessionLog }) =>
      createSshDecider({
        policy: () => policy,
        audit,
        identity,
        connection,
        clientAddr,
        startedAt: Math.floor(Date.now() / 1000),
        log: sessionLog,
        onDecision: () => undefined,
        awaitApproval: opts.awaitApproval,
      }),
    contentMasker: opts.contentMasker ?? contentMasker,
    log: log.child({ listener: 'ssh' }),
    metrics: { sessionOpened: () => undefined, sessionClosed: () => undefined, loginFailed: () => undefined },
    refusals: new LoginRefusals({
      nodeId: config.nodeId,
      publisher,
      topic: sessionsTopic,
      log: log.child({ component: 'login-audit' }),
      limits: config.loginAudit,
    }),
  });
  const port = await listener.listen();
  return {
    idp,
    listener,
    publisher,
    port,
    sessionsTopic,
    logs,
    dir,
    upstreamKey: readFileSync(stackValue('SSH_TARGET_KEY_FILE'), 'utf8'),
    async stop() {
      await listener.stopAccepting();
      await listener.drain(2_000);
      await publisher.close();
      await idp.stop();
    },
  };
}

/** A whole gateway node (services/gateway/gateway.ts: startGateway) with only the SSH listener, and approvals. */
export type SshGatewayNode = {
  idp: RunningIdp;
  gateway: RunningGateway;
  approval: RunningApprovalService;
  port: number;
  sessionsTopic: string;
  logs: string[];
  stop(): Promise<void>;
};

export async function startSshGatewayNode(): Promise<SshGatewayNode> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-node-'));
  const idp = await startIdp({ port: 0, audience: 'gatehouse' });
  const sessionsTopic = `test.ssh-node.${randomUUID().slice(0, 8)}`;
  const approvalsTopic = `${sessionsTopic}.approvals`;
  const rf = Math.min(3, brokerCount());
  await ensureTopics(testKafka(), [
    { name: approvalsTopic, partitions: 6, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 },
  ]);
  const approval = await startTestApprovalService(approvalTestConfig({ topic: approvalsTopic, idp }));
  const config = parseConfig(
    gatewayConfigSchema,
    {
      nodeId: 'ssh-node',
      logLevel: 'debug',
      health: { port: 0 },
      listeners: { ssh: { port: 0, hostKey: generateKey(dir, 'gateway_host_key') } },
      oidc: { issuer: idp.issuer, audience: 'gatehouse' },
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
      ],
    },
    'ssh node test config',
  );
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ service: 'gateway', nodeId: config.nodeId, level: 'debug', destination });
  const gateway = await startGateway(config, log);
  return {
    idp,
    gateway,
    approval,
    port: gateway.sshPort!,
    sessionsTopic,
    logs,
    async stop() {
      await gateway.stop(2_000);
      await approval.stop();
      await idp.stop();
    },
  };
}

export type SshRun = { status: number | null; stdout: Buffer; stderr: string };

/** Options every test run of the real OpenSSH client uses: token auth only, no key files, no host key prompts. */
export const SSH_CLIENT_OPTIONS = [
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'PreferredAuthentications=password,keyboard-interactive',
  '-o',
  'PubkeyAuthentication=no',
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'IdentityAgent=none',
  '-o',
  'ConnectTimeout=10',
] as const;

/**
 * Runs the real OpenSSH client through `sshpass -e` (the token is SSHPASS) — asynchronously, so the in-process
 * gateway keeps serving. `stdin` is written and closed (feed for `ssh -tt`).
 */
export function runSsh(
  port: number,
  user: string,
  token: string,
  args: readonly string[],
  opts: {
    stdin?: string | Buffer;
    timeoutMs?: number;
    /** Replaces SSH_CLIENT_OPTIONS (OpenSSH keeps the first value of an option, so they cannot be overridden). */
    options?: readonly string[];
    logLevel?: string;
    /** Called with stderr as it arrives (e.g. to act on an approval link while the command waits). */
    onStderr?: (textSoFar: string) => void;
  } = {},
): Promise<SshRun> {
  const options: string[] = [
    ...(opts.options ?? SSH_CLIENT_OPTIONS),
    '-o',
    `LogLevel=${opts.logLevel ?? 'INFO'}`,
  ];
  const child = spawn(
    'sshpass',
    ['-e', 'ssh', '-p', String(port), ...options, `${user}@127.0.0.1`, ...args],
    { env: { ...process.env, SSHPASS: token }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => {
    err.push(b);
    opts.onStderr?.(Buffer.concat(err).toString('utf8'));
  });
  child.stdin.on('error', () => undefined);
  if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
  else child.stdin.end();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
