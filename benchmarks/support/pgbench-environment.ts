import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import { dropDatabase } from '../../services/recorder/clickhouse/client.js';
import { testClickHouseOptions } from '../../test/support/clickhouse.js';
import { buildPolicyBundle, selfSignedCert } from '../../test/support/gateway.js';
import { testKafka } from '../../test/support/kafka.js';
import { stackValue } from '../../test/support/stack.js';
import {
  BENCH_PORTS,
  benchNames,
  gatewayConfig,
  recorderConfig,
  startGatehouseProcess,
  upstreamPassword,
} from './gatehouse-services.js';
import type { BenchNames, GatehouseProcess } from './gatehouse-services.js';
import type { PgbenchTarget } from './pgbench-runner.js';
import type { PathId } from './pgbench-targets.js';
import { startPgBouncer } from './pgbouncer.js';
import type { PgBouncer } from './pgbouncer.js';
import { startNodeFloor } from './pgbench-floor.js';
import { processProbe } from './proc-cpu.js';
import type { CpuProbe } from './proc-cpu.js';
import { clickhouseProcess, kafkaBrokerProcesses, postgresProcess } from './stack-processes.js';

/**
 * Everything `bench:pgbench` measures, started once: the dev IdP (in this process; only logins use it), PgBouncer,
 * the Node TLS relay of the `node-floor` path, the gateway and the recorder as processes, a Kafka admin client (high watermarks, clean-up), and a CPU probe per
 * process on the paths. `stop()` stops what was started, deletes the run's topics and database.
 */
export type PgbenchEnvironment = {
  dir: string;
  names: BenchNames;
  targets: Record<PathId, PgbenchTarget>;
  probes: CpuProbe[];
  gateway: GatehouseProcess;
  /** The gateway of the `baseline` checkout, when asked for. */
  baseline: GatehouseProcess | undefined;
  recorder: GatehouseProcess;
  admin: Admin;
  /** Stops every process the bench started; the gateway first, so its CPU profile is written. */
  stop(): Promise<void>;
};

export type EnvironmentOptions = {
  dir: string;
  /** Extra node flags for the gateway (`--cpu-prof …`). */
  gatewayNodeArgs: readonly string[];
  readyTimeoutMs: number;
  /** A built checkout (a worktree of `main`, say) whose gateway runs beside this one (same topic, recorder, policy), for an A/B. */
  baseline?: string;
};

/** Ports of the baseline gateway: inside the bench's block (see BENCH_PORTS), after its own. */
const BASELINE_PORTS = { postgres: BENCH_PORTS.idp + 30, health: BENCH_PORTS.idp + 31 } as const;
/** Port of the Node TLS relay (the `node-floor` path), beside PgBouncer's. */
const FLOOR_PORT = BENCH_PORTS.pgbouncer + 1;

const nodeArgsFrom = (variable: string): string[] => (process.env[variable] ?? '').split(' ').filter(Boolean);

export async function startPgbenchEnvironment(o: EnvironmentOptions): Promise<PgbenchEnvironment> {
  const names = benchNames(randomBytes(4).toString('hex'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error(`clean-up failed: ${(err as Error).message}`);
      }
    }
  };
  try {
    const tls = selfSignedCert(o.dir);
    const bundleDir = buildPolicyBundle();
    const idp: RunningIdp = await startIdp({ port: BENCH_PORTS.idp, audience: 'gatehouse' });
    cleanups.push(() => idp.stop());
    const token = await idp.issueToken({
      user: 'bench-agent',
      agent: true,
      groups: ['agents'],
      ttlSeconds: 3600,
    });
    const password = upstreamPassword();
    const bouncerDir = join(o.dir, 'pgbouncer');
    mkdirSync(bouncerDir);
    chmodSync(o.dir, 0o711); // PgBouncer runs as postgres: it must reach its own folder
    const pgbouncer: PgBouncer = await startPgBouncer({
      dir: bouncerDir,
      port: BENCH_PORTS.pgbouncer,
      password,
      tls,
      readyTimeoutMs: o.readyTimeoutMs,
    });
    cleanups.push(() => pgbouncer.stop());
    const floor = await startNodeFloor({
      dir: o.dir,
      port: FLOOR_PORT,
      upstream: { host: stackValue('PG_TARGET_HOST'), port: Number(stackValue('PG_TARGET_PORT')) },
      tls,
      readyTimeoutMs: o.readyTimeoutMs,
    });
    cleanups.push(() => floor.stop());
    const admin = testKafka('gatehouse-bench').admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    cleanups.push(() =>
      admin.deleteTopics({
        topics: [names.sessionsTopic, names.approvalsTopic, names.approvalRequestsTopic],
      }),
    );
    cleanups.push(() => dropDatabase({ ...testClickHouseOptions(), database: names.database }));
    const gateway = await startGatehouseProcess({
      command: 'gateway',
      dir: o.dir,
      config: gatewayConfig({ names, issuer: idp.issuer, tls, bundleDir }),
      healthPort: BENCH_PORTS.gatewayHealth,
      // `GATEHOUSE_BENCH_GATEWAY_NODE_ARGS="--perf-basic-prof"` adds node flags (space-separated), e.g. for `perf`.
      nodeArgs: [...o.gatewayNodeArgs, ...nodeArgsFrom('GATEHOUSE_BENCH_GATEWAY_NODE_ARGS')],
      readyTimeoutMs: o.readyTimeoutMs,
    });
    cleanups.push(() => gateway.stop()); // exits after the recorder (clean-ups run in reverse); writes its profile
    let baseline: GatehouseProcess | undefined;
    if (o.baseline !== undefined) {
      const baselineDir = join(o.dir, 'baseline');
      mkdirSync(baselineDir);
      const config = gatewayConfig({ names, issuer: idp.issuer, tls, bundleDir });
      baseline = await startGatehouseProcess({
        command: 'gateway',
        dir: baselineDir,
        bin: join(o.baseline, 'bin', 'gatehouse.js'),
        config: {
          ...config,
          // `GATEHOUSE_BENCH_BASELINE_PUBLISHER`: the baseline's `kafka.publisher` (JSON), e.g. to A/B a setting on
          // one checkout (`--baseline` naming this work tree).
          ...(process.env.GATEHOUSE_BENCH_BASELINE_PUBLISHER === undefined
            ? {}
            : {
                kafka: {
                  ...(config.kafka as Record<string, unknown>),
                  publisher: JSON.parse(process.env.GATEHOUSE_BENCH_BASELINE_PUBLISHER) as unknown,
                },
              }),
          nodeId: 'bench-gw-baseline',
          health: { host: '127.0.0.1', port: BASELINE_PORTS.health },
          listeners: { postgres: { host: '127.0.0.1', port: BASELINE_PORTS.postgres, tls } },
        },
        healthPort: BASELINE_PORTS.health,
        readyTimeoutMs: o.readyTimeoutMs,
      });
      cleanups.push(() => baseline!.stop());
    }
    const recorder = await startGatehouseProcess({
      command: 'recorder',
      dir: o.dir,
      config: recorderConfig({ names, issuer: idp.issuer }),
      healthPort: BENCH_PORTS.recorderHealth,
      // `GATEHOUSE_BENCH_RECORDER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"` profiles the recorder (space-separated).
      nodeArgs: nodeArgsFrom('GATEHOUSE_BENCH_RECORDER_NODE_ARGS'),
      readyTimeoutMs: o.readyTimeoutMs,
    });
    cleanups.push(() => recorder.stop());
    const user = stackValue('PG_TARGET_USER');
    const viaGateway = (port: number): PgbenchTarget => ({
      port,
      database: 'demo-pgbench',
      user: 'bench-agent',
      password: token,
      sslmode: 'require',
    });
    const targets: Record<PathId, PgbenchTarget> = {
      direct: {
        port: Number(stackValue('PG_TARGET_PORT')),
        database: stackValue('PG_TARGET_PGBENCH_DATABASE'),
        user,
        password,
        sslmode: 'disable',
      },
      pgbouncer: { port: pgbouncer.port, database: pgbouncer.database, user, password, sslmode: 'disable' },
      'pgbouncer-tls': {
        port: pgbouncer.port,
        database: pgbouncer.database,
        user,
        password,
        sslmode: 'require',
      },
      // pgbench logs in to PostgreSQL itself through the relay, over TLS as to PgBouncer-TLS and the gateway.
      'node-floor': {
        port: floor.port,
        database: stackValue('PG_TARGET_PGBENCH_DATABASE'),
        user,
        password,
        sslmode: 'require',
      },
      baseline: viaGateway(BASELINE_PORTS.postgres),
      gateway: viaGateway(BENCH_PORTS.gatewayPostgres),
    };
    const clickhouse = clickhouseProcess();
    const probes: CpuProbe[] = [
      processProbe('gateway', gateway.pid),
      ...(baseline ? [processProbe('baseline', baseline.pid)] : []),
      ...kafkaBrokerProcesses().map((b) => b.probe),
      processProbe('recorder', recorder.pid),
      processProbe('pgbouncer', pgbouncer.pid),
      processProbe('node-floor', floor.pid),
      postgresProcess().probe,
      ...(clickhouse ? [clickhouse.probe] : []),
    ];
    return { dir: o.dir, names, targets, probes, gateway, baseline, recorder, admin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
