import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { approvalRequestsTopic } from '../../test/support/approval.js';
import { recorderClickHouse } from '../../test/support/clickhouse.js';
import { brokerCount } from '../../test/support/kafka.js';
import { kafkaConnection, PROJECT_ROOT, stackValue } from '../../test/support/stack.js';
import { httpOk, startChildService, waitReady } from './child-service.js';
import type { ChildService } from './child-service.js';

/**
 * The gateway and the recorder as separate processes (`node bin/gatehouse.js gateway|recorder --config FILE`),
 * configured the way deploy/cluster/cluster.sh configures them, on the bench's own topics, consumer group and
 * ClickHouse database (so the recorder's work is exactly the run's events).
 */

/**
 * Ports of the bench's processes: 21000-21099 by default; `GATEHOUSE_BENCH_PORT_BASE` moves the whole block (so two
 * benches on one machine do not collide).
 */
const PORT_BASE = Number(process.env.GATEHOUSE_BENCH_PORT_BASE ?? 21000);
if (!Number.isInteger(PORT_BASE) || PORT_BASE < 1024 || PORT_BASE > 65_435) {
  throw new Error(`GATEHOUSE_BENCH_PORT_BASE must be a port from 1024 to 65435, got ${PORT_BASE}`);
}
export const BENCH_PORTS = Object.freeze({
  idp: PORT_BASE,
  gatewayPostgres: PORT_BASE + 1,
  gatewayHealth: PORT_BASE + 2,
  recorderHttp: PORT_BASE + 3,
  recorderHealth: PORT_BASE + 4,
  pgbouncer: PORT_BASE + 10,
  opa: PORT_BASE + 20,
});

export const GATEHOUSE_BIN = join(PROJECT_ROOT, 'bin', 'gatehouse.js');

/** The names of one run's Kafka topics, consumer group and ClickHouse database. */
export type BenchNames = {
  sessionsTopic: string;
  approvalsTopic: string;
  approvalRequestsTopic: string;
  recorderGroup: string;
  database: string;
};

export function benchNames(runId: string): BenchNames {
  const sessionsTopic = `test.bench.${runId}`; // the stack's ACLs let each service use `test.` topics
  const approvalsTopic = `${sessionsTopic}.approvals`;
  return {
    sessionsTopic,
    approvalsTopic,
    approvalRequestsTopic: approvalRequestsTopic(approvalsTopic),
    recorderGroup: `test-bench-${runId}`,
    database: `gatehouse_bench_${runId}`,
  };
}

function replication() {
  const rf = Math.min(3, brokerCount());
  return { replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 };
}

/** The gateway's config: one Postgres listener with TLS, the stack's pgbench database as `demo-pgbench`. */
export function gatewayConfig(o: {
  names: BenchNames;
  issuer: string;
  tls: { cert: string; key: string };
  bundleDir: string;
}): Record<string, unknown> {
  return {
    nodeId: 'bench-gw-1',
    health: { host: '127.0.0.1', port: BENCH_PORTS.gatewayHealth },
    listeners: {
      postgres: { host: '127.0.0.1', port: BENCH_PORTS.gatewayPostgres, tls: o.tls },
    },
    oidc: { issuer: o.issuer, audience: 'gatehouse' },
    kafka: {
      ...kafkaConnection('gateway'),
      topics: {
        sessions: o.names.sessionsTopic,
        approvals: o.names.approvalsTopic,
        approvalRequests: o.names.approvalRequestsTopic,
        ...replication(),
      },
      // `GATEHOUSE_BENCH_GATEWAY_PUBLISHER`: `kafka.publisher` settings (JSON) for an A/B run, checked by the
      // gateway's own config schema (default: the gateway's defaults).
      ...(process.env.GATEHOUSE_BENCH_GATEWAY_PUBLISHER === undefined
        ? {}
        : { publisher: JSON.parse(process.env.GATEHOUSE_BENCH_GATEWAY_PUBLISHER) as unknown }),
    },
    policy: { bundleDir: o.bundleDir },
    connections: [
      {
        name: 'demo-pgbench',
        protocol: 'postgres',
        upstream: {
          host: stackValue('PG_TARGET_HOST'),
          port: Number(stackValue('PG_TARGET_PORT')),
          database: stackValue('PG_TARGET_PGBENCH_DATABASE'),
          user: stackValue('PG_TARGET_USER'),
          password: { file: stackValue('PG_TARGET_PASSWORD_FILE') },
        },
      },
    ],
  };
}

/** The recorder's config: the run's topics (provisioned by the gateway), its own group and database. */
export function recorderConfig(o: { names: BenchNames; issuer: string }): Record<string, unknown> {
  return {
    nodeId: 'bench-rec-1',
    groupId: o.names.recorderGroup,
    kafka: {
      ...kafkaConnection('recorder'),
      topics: {
        sessions: o.names.sessionsTopic,
        approvals: o.names.approvalsTopic,
        provision: false,
        ...replication(),
      },
    },
    // The stack's recorder user may only use database `gatehouse`; a database of the run's own needs the admin.
    clickhouse: recorderClickHouse({
      url: stackValue('GATEHOUSE_CLICKHOUSE_URL'),
      database: o.names.database,
    }),
    http: { host: '127.0.0.1', port: BENCH_PORTS.recorderHttp },
    health: { host: '127.0.0.1', port: BENCH_PORTS.recorderHealth },
    retentionDays: 0,
    api: { oidc: { issuer: o.issuer, audience: 'gatehouse' } },
    // `GATEHOUSE_BENCH_RECORDER_CONFIG`: recorder settings (JSON, top-level sections replaced, e.g.
    // `{"consumer":{"fetchMinBytes":65536},"batch":{"maxDelayMs":1000}}`) for an A/B run, checked by its schema.
    ...(process.env.GATEHOUSE_BENCH_RECORDER_CONFIG === undefined
      ? {}
      : (JSON.parse(process.env.GATEHOUSE_BENCH_RECORDER_CONFIG) as Record<string, unknown>)),
  };
}

/** A running Gatehouse service with its health port (`/readyz`, `/metrics`). */
export type GatehouseProcess = ChildService & { readonly healthPort: number; metrics(): Promise<string> };

/**
 * Writes `config` as `<dir>/<command>.yaml` and starts `node [nodeArgs] bin/gatehouse.js <command> --config FILE`;
 * resolves once `/readyz` answers 200.
 */
export async function startGatehouseProcess(o: {
  command: 'gateway' | 'recorder';
  dir: string;
  config: Record<string, unknown>;
  healthPort: number;
  nodeArgs?: readonly string[];
  readyTimeoutMs: number;
  /** Another checkout's `bin/gatehouse.js` (an A/B run); default this work tree's. */
  bin?: string;
}): Promise<GatehouseProcess> {
  const file = join(o.dir, `${o.command}.yaml`);
  writeFileSync(file, `# Written by benchmarks/pgbench.ts.\n${stringify(o.config)}`);
  const service = startChildService(
    o.command,
    process.execPath,
    [...(o.nodeArgs ?? []), o.bin ?? GATEHOUSE_BIN, o.command, '--config', file],
    join(o.dir, `${o.command}.log`),
  );
  const base = `http://127.0.0.1:${o.healthPort}`;
  try {
    await waitReady(service, '/readyz', () => httpOk(`${base}/readyz`), o.readyTimeoutMs);
  } catch (err) {
    await service.stop();
    throw err;
  }
  const metrics = async () => {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return res.text();
  };
  return Object.assign(service, { healthPort: o.healthPort, metrics });
}

/** The upstream password the gateway and PgBouncer log in with. */
export function upstreamPassword(): string {
  return readFileSync(stackValue('PG_TARGET_PASSWORD_FILE'), 'utf8').trim();
}
