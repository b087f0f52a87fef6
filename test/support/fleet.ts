import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import type { Event } from '../../services/shared/events/codec.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import { testTrustedKeys } from './approval.js';
import { collectEvents } from './event-collector.js';
import type { EventCollector } from './event-collector.js';
import {
  buildPolicyBundle,
  fixtureKafkaSection,
  fixturePgConnections,
  fixtureSessionsTopic,
  selfSignedCert,
  startFixtureApproval,
} from './gateway.js';
import { brokerCount, testKafka } from './kafka.js';
import { PROJECT_ROOT } from './stack.js';
import { waitFor } from './wait.js';

/**
 * A fleet for integration tests: N gateway nodes, each its own process (`gatehouse gateway --config FILE` through
 * runGateway, as the CLI runs it, so a node can be `kill -9`ed or sent SIGTERM), behind a real HAProxy process with
 * the configuration `deploy/cluster/haproxy-config.sh` writes for `npm run cluster:up`. Ports are fixed from
 * `basePort` (tests use 22000-22999): the balancer's PostgreSQL frontend `basePort`, its monitor `basePort + 1`;
 * node i (1-based) PostgreSQL `basePort + 10·i`, health `basePort + 10·i + 1`.
 */
export type FleetOptions = {
  basePort: number;
  nodes?: number;
  /** Start an approval service; nodes renew hold leases every `holdRenewMs` for `holdLeaseMs`. */
  approvals?: { holdRenewMs: number; holdLeaseMs: number };
  editPolicyData?: (data: Record<string, unknown>) => void;
  /**
   * HAProxy sends PROXY protocol v2 to the nodes' PostgreSQL listeners from `balancerSource` (a loopback address
   * other than 127.0.0.1), which the nodes trust (`listeners.postgres.proxyProtocol`).
   */
  proxyProtocol?: { balancerSource: string };
  /** Fields merged into every node's configuration (e.g. `shutdown`, `unreadyBeforeDrainMs`). */
  gateway?: Record<string, unknown>;
};

export type FleetNode = {
  readonly id: string;
  readonly pgPort: number;
  readonly healthPort: number;
  /** Every line the node wrote (pino JSON on stdout, anything on stderr). */
  readonly output: string[];
  readonly proc: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** A counter or gauge value from the node's `/metrics` (0 when absent), e.g. sessions opened by protocol. */
  metric(name: string, labels?: string): Promise<number>;
  /** Lines of the node's log whose `msg` is `msg`. */
  logged(msg: string): Record<string, unknown>[];
};

export type Fleet = {
  idp: RunningIdp;
  approval: RunningApprovalService | undefined;
  sessionsTopic: string;
  /** The balancer's PostgreSQL port. */
  pgPort: number;
  monitorPort: number;
  nodes: FleetNode[];
  /** HAProxy's view of each node in the PostgreSQL backend: `UP`, `DOWN`, `UP 1/2`… by node id. */
  serverStatus(): Promise<Record<string, string>>;
  /** Waits until HAProxy reports `status` for node `id`. */
  waitForStatus(id: string, status: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
};

function spawnNode(id: string, configFile: string, pgPort: number, healthPort: number): FleetNode {
  const script = [
    "import { runGateway } from './services/gateway/main.ts';",
    `process.exitCode = await runGateway(['--config', ${JSON.stringify(configFile)}]);`,
  ].join('\n');
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (d: Buffer) => output.push(...d.toString('utf8').split('\n').filter(Boolean));
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    id,
    pgPort,
    healthPort,
    output,
    proc,
    exit,
    async metric(name, labels = '') {
      const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
      return line ? Number(line.split(' ').at(-1)) : 0;
    },
    logged(msg) {
      const out: Record<string, unknown>[] = [];
      for (const l of output) {
        if (!l.startsWith('{')) continue;
        const parsed = JSON.parse(l) as Record<string, unknown>;
        if (parsed.msg === msg) out.push(parsed);
      }
      return out;
    },
  };
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fleet-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const idp = await startIdp({ port: 0, audience: 'gatehouse' });
    cleanups.push(() => idp.stop());
    const sessionsTopic = fixtureSessionsTopic('fleet');
    const kafka = fixtureKafkaSection(sessionsTopic);
    // Created here once, so the nodes starting side by side do not race to create them.
    const rf = Math.min(3, brokerCount());
    const t = kafka.topics;
    const specs = [t.sessions, t.approvals, t.approvalRequests].map((name) => ({
      name,
      partitions: t.partitions,
      replicationFactor: rf,
      minInsyncReplicas: rf >= 3 ? 2 : 1,
    }));
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics(testKafka(), specs);
        break;
      } catch (err) {
        if (attempt >= 5) throw err; // a busy shared broker: metadata requests may time out for a while
        await sleep(2_000);
      }
    }
    const approval = opts.approvals ? await startFixtureApproval(sessionsTopic, idp) : undefined;
    if (approval) cleanups.push(() => approval.stop());
    const bundleDir = buildPolicyBundle(opts.editPolicyData);
    const tls = selfSignedCert(dir);
    const run = randomUUID().slice(0, 6);
    const nodes: FleetNode[] = [];
    for (let i = 1; i <= (opts.nodes ?? 3); i++) {
      const id = `fleet-${run}-${i}`;
      const pgPort = opts.basePort + 10 * i;
      const healthPort = pgPort + 1;
      const config = {
        nodeId: id,
        logLevel: 'info',
        health: { host: '127.0.0.1', port: healthPort },
        listeners: {
          postgres: {
            host: '127.0.0.1',
            port: pgPort,
            tls,
            ...(opts.proxyProtocol
              ? { proxyProtocol: { trustedProxies: [opts.proxyProtocol.balancerSource] } }
              : {}),
          },
        },
        oidc: { issuer: idp.issuer, audience: 'gatehouse', clockToleranceSeconds: 0 },
        kafka,
        policy: { bundleDir },
        ...(approval
          ? { approvals: { url: approval.url, trustedKeys: testTrustedKeys(), ...opts.approvals } }
          : {}),
        connections: fixturePgConnections(),
        ...opts.gateway,
      };
      const file = join(dir, `${id}.json`);
      writeFileSync(file, JSON.stringify(config)); // JSON is YAML
      const node = spawnNode(id, file, pgPort, healthPort);
      cleanups.push(async () => {
        if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGKILL');
        await node.exit;
      });
      nodes.push(node);
    }
    await Promise.all(
      nodes.map((n) =>
        waitFor(
          `node ${n.id} ready`,
          async () =>
            n.proc.exitCode === null ? ready(`http://127.0.0.1:${n.healthPort}/readyz`) : 'exited',
          (v) => v !== false,
          120_000,
        ).then((v) => {
          if (v === 'exited') throw new Error(`node ${n.id} exited:\n${n.output.slice(-30).join('\n')}`);
        }),
      ),
    );

    const pgPort = opts.basePort;
    const monitorPort = opts.basePort + 1;
    const cfg = execFileSync(
      'bash',
      [
        join(PROJECT_ROOT, 'deploy', 'cluster', 'haproxy-config.sh'),
        ...['--bind', '127.0.0.1', '--monitor', String(monitorPort), '--listen', `postgres=${pgPort}`],
        ...nodes.flatMap((n) => ['--node', `${n.id}:${n.healthPort}:postgres=${n.pgPort}`]),
        ...(opts.proxyProtocol
          ? ['--send-proxy', 'postgres', '--source', opts.proxyProtocol.balancerSource]
          : []),
      ],
      { encoding: 'utf8' },
    );
    const cfgFile = join(dir, 'haproxy.cfg');
    writeFileSync(cfgFile, cfg);
    const haproxy = spawn('haproxy', ['-f', cfgFile, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const haproxyLog: string[] = [];
    haproxy.stderr.on('data', (d: Buffer) => haproxyLog.push(d.toString('utf8')));
    const haproxyExit = new Promise((resolve) => haproxy.on('exit', resolve));
    cleanups.push(async () => {
      if (haproxy.exitCode === null && haproxy.signalCode === null) haproxy.kill('SIGTERM');
      await haproxyExit;
    });

    const serverStatus = async (): Promise<Record<string, string>> => {
      const csv = await (await fetch(`http://127.0.0.1:${monitorPort}/stats;csv`)).text();
      const status: Record<string, string> = {};
      for (const line of csv.split('\n')) {
        const f = line.split(',');
        if (f[0] === 'gw_postgres' && f[1] !== 'BACKEND' && f[1] !== undefined) status[f[1]] = f[17] ?? '';
      }
      return status;
    };
    const noStatus: Record<string, string> = {};
    const waitForStatus = async (id: string, status: RegExp, timeoutMs = 15_000): Promise<void> => {
      await waitFor(
        `HAProxy to report ${id} ${String(status)}`,
        () => serverStatus().catch(() => noStatus),
        (s) => status.test(s[id] ?? ''),
        timeoutMs,
      );
    };
    await waitFor(
      'HAProxy to see every node up',
      async () => {
        if (haproxy.exitCode !== null) throw new Error(`haproxy exited:\n${haproxyLog.join('')}`);
        return serverStatus().catch(() => noStatus);
      },
      (s) => nodes.every((n) => s[n.id] === 'UP'),
      30_000,
    );
    return {
      idp,
      approval,
      sessionsTopic,
      pgPort,
      monitorPort,
      nodes,
      serverStatus,
      waitForStatus,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits until `node` exited; fails after `timeoutMs` with its last log lines. */
export async function exited(
  node: FleetNode,
  timeoutMs = 30_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const timeout = sleep(timeoutMs).then(() => {
    throw new Error(`node ${node.id} did not exit:\n${node.output.slice(-20).join('\n')}`);
  });
  return Promise.race([node.exit, timeout]);
}

/** The events of each session whose `session.opened` came from one of `nodeIds` at or after `sinceMicros`. */
export function sessionStreams(
  records: readonly { event: Event }[],
  nodeIds: readonly string[],
  sinceMicros: bigint,
): Map<string, Event[]> {
  const bySession = new Map<string, Event[]>();
  for (const { event } of records) {
    const list = bySession.get(event.sessionId);
    if (list) list.push(event);
    else if (
      event.body.case === 'sessionOpened' &&
      event.tsMicros >= sinceMicros &&
      nodeIds.includes(event.nodeId)
    )
      bySession.set(event.sessionId, [event]);
  }
  return bySession;
}

/** A session's recorded stream is complete: seq 1..n without gaps or repeats, opened first, closed. */
export function streamComplete(stream: readonly Event[]): boolean {
  const seqs = stream.map((e) => Number(e.seq)).sort((a, b) => a - b);
  return (
    seqs.every((s, i) => s === i + 1) &&
    stream[0]?.body.case === 'sessionOpened' &&
    stream.some((e) => e.body.case === 'sessionClosed')
  );
}

/** What a fleet test file uses: the fleet, a reader of its sessions topic and an agent's token (`user`). */
export type FleetFixture = { fleet: Fleet; events: EventCollector; token: string };

/** Registers this file's beforeAll/afterAll; the returned fixture is filled in once beforeAll has run. */
export function useFleet(opts: FleetOptions, user: string): FleetFixture {
  const fx = {} as FleetFixture;
  beforeAll(async () => {
    fx.fleet = await startFleet(opts);
    fx.events = collectEvents(fx.fleet.sessionsTopic);
    fx.token = await fx.fleet.idp.issueToken({ user, agent: true, groups: ['agents'], ttlSeconds: 600 });
  });
  afterAll(async () => {
    await fx.events?.stop();
    await fx.fleet?.stop();
  });
  return fx;
}
