import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../services/shared/config/load-config.js';
import type { LogPublisher } from '../../services/shared/log/event-log.js';
import type { EventPublisher } from '../../services/shared/log/publisher.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import type { SshListenerConfig } from '../../services/gateway/config.js';
import type { RunningGateway } from '../../services/gateway/gateway.js';
import type { PolicyEngine } from '../../services/gateway/policy/index.js';
import type { ApprovalService } from '../../services/gateway/pipeline/index.js';
import type { ContentMaskerFactory } from '../../services/gateway/ssh/index.js';
import { detectorsFor, maskBytes } from '../../services/gateway/masking/index.js';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import {
  buildPolicyBundle,
  fixtureApprovalsSection,
  fixtureKafkaSection,
  fixtureSessionsTopic,
  startFixtureApproval,
  startFixtureGateway,
} from './gateway.js';
import { stackValue } from './stack.js';

/**
 * A gateway node with the SSH listener, started as `gatehouse gateway` starts one (buildGateway → start), a real IdP
 * and Kafka; with `approvals`, an approval service too.
 */
export type SshGatewayFixture = {
  idp: RunningIdp;
  gateway: RunningGateway;
  approval: RunningApprovalService | undefined;
  /** The node's Kafka publisher (stats). */
  publisher: LogPublisher;
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
  /** Start an approval service and point the gateway's `approvals` section at it. */
  approvals?: boolean;
  /** Replaces the example policy bundle (e.g. a stub that allows forwarding). */
  policy?: PolicyEngine;
  contentMasker?: ContentMaskerFactory;
  /** The approval service the gateway holds requests with (instead of one built from an `approvals` section). */
  approvalService?: ApprovalService;
  /** Wraps the Kafka publisher the listener uses (e.g. to make it refuse, as it does when Kafka is gone). */
  wrapPublisher?: (publisher: EventPublisher) => EventPublisher;
  listener?: Partial<
    Pick<SshListenerConfig, 'idleTimeoutMs' | 'maxSessions' | 'authTimeoutMs' | 'maskFlushMs'>
  >;
  /** Leeway for exp/nbf (default 30 s, as the gateway's; 0 lets a test expire a token quickly). */
  clockToleranceSeconds?: number;
};

/** A fresh ed25519 key pair in `dir` (`name` and `name.pub`). */
export function generateKey(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file], { stdio: 'ignore' });
  return file;
}

/** The content masker of services/gateway/masking, as the gateway wires it. */
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
  const sessionsTopic = fixtureSessionsTopic('ssh-sessions');
  const approval = opts.approvals ? await startFixtureApproval(sessionsTopic, idp) : undefined;
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
      health: { port: 0 },
      listeners: { ssh: { port: 0, hostKey, ...opts.listener } },
      oidc: {
        issuer: idp.issuer,
        audience: 'gatehouse',
        ...(opts.clockToleranceSeconds === undefined
          ? {}
          : { clockToleranceSeconds: opts.clockToleranceSeconds }),
      },
      kafka: fixtureKafkaSection(sessionsTopic),
      policy: { bundleDir: opts.policy ? '/nonexistent' : buildPolicyBundle() },
      ...(approval ? { approvals: fixtureApprovalsSection(approval) } : {}),
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
  const { gateway, logs } = await startFixtureGateway(config, {
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.contentMasker ? { contentMasker: opts.contentMasker } : {}),
    ...(opts.approvalService ? { approvals: opts.approvalService } : {}),
    ...(opts.wrapPublisher ? { sessionPublisher: opts.wrapPublisher } : {}),
  });
  return {
    idp,
    gateway,
    approval,
    publisher: gateway.publisher,
    port: gateway.sshPort!,
    sessionsTopic,
    logs,
    dir,
    upstreamKey: readFileSync(stackValue('SSH_TARGET_KEY_FILE'), 'utf8'),
    async stop() {
      await gateway.stop(2_000);
      await approval?.stop();
      await idp.stop();
    },
  };
}

/** The SSH fixture with an approval service (the whole node: metrics, approvals, the approval service). */
export type SshGatewayNode = SshGatewayFixture & { approval: RunningApprovalService };

export async function startSshGatewayNode(): Promise<SshGatewayNode> {
  const fx = await startSshGatewayFixture({ approvals: true });
  const { approval } = fx;
  if (!approval) throw new Error('the fixture started no approval service');
  return { ...fx, approval };
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

/** OpenSSH arguments that run `command` on the stack's sshd directly, with the key only the gateway is meant to hold. */
export function directSshArgs(command: string): string[] {
  return [
    '-i',
    stackValue('SSH_TARGET_KEY_FILE'),
    '-p',
    stackValue('SSH_TARGET_PORT'),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'BatchMode=yes',
    `${stackValue('SSH_TARGET_USER')}@${stackValue('SSH_TARGET_HOST')}`,
    command,
  ];
}

/** Runs a command on the stack's sshd directly, not through the gateway (set-up, clean-up, comparison). */
export function sshDirect(command: string): Promise<SshRun> {
  return collect(spawn('ssh', directSshArgs(command), { stdio: ['pipe', 'pipe', 'pipe'] }), {});
}

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
  return collect(child, opts);
}

/** Feeds `stdin`, collects stdout and stderr, and kills the client after `timeoutMs` (default 60 s). */
function collect(
  child: ReturnType<typeof spawn>,
  opts: { stdin?: string | Buffer; timeoutMs?: number; onStderr?: (textSoFar: string) => void },
): Promise<SshRun> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => {
    err.push(b);
    opts.onStderr?.(Buffer.concat(err).toString('utf8'));
  });
  child.stdin?.on('error', () => undefined);
  if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  else child.stdin?.end();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (status: number | null) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
