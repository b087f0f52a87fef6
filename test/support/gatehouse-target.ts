import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EPHEMERAL_PORTS } from '../../dev/embedded/embedded-configs.js';
import { startEmbedded } from '../../dev/embedded/start-embedded.js';
import { requestToken } from '../../dev/idp/index.js';
import type { TokenRequestOptions } from '../../dev/idp/index.js';
import type { ApprovalRecord } from '../../services/approval/model/types.js';
import type { ApprovalStore } from '../../services/approval/store/approval-store.js';
import type { EventPublisher } from '../../services/shared/log/publisher-contract.js';
import { approvalTopicWriter } from './approval.js';
import { testDatabase } from './clickhouse.js';
import { startFixtureRecorder, startGatewayFixture } from './gateway.js';
import { testLogger } from './kafka.js';
import { stackEnv } from './stack.js';

/**
 * A running Gatehouse as its users reach it: the addresses of `.gatehouse/env` / `.stack/env`, nothing internal. The
 * shared end-to-end bodies take one, so the same assertions run against the one-process mode and the cluster.
 */
export type GatehouseTarget = {
  readonly name: 'embedded' | 'cluster';
  readonly pg: { host: string; port: number; ssl: boolean };
  readonly issuer: string;
  readonly recorderUrl: string;
  readonly approvalUrl: string;
  token(opts: TokenRequestOptions): Promise<string>;
  /** Absent for a cluster reached by its addresses only (`cluster:up`): its log and services are not in reach. */
  readonly insider?: LogInsider;
  close(): Promise<void>;
};

/**
 * What someone with write access to the event log, but not the approval service's signing key, can do: read a
 * pending approval's record and append a record to the approvals topic (a forged decision).
 */
export type LogInsider = {
  pendingApproval(approvalId: string): ApprovalRecord | undefined;
  writeApprovalsTopic(key: string, value: Uint8Array): Promise<void>;
};

/** A `LogInsider` writing through `publisher` to `topic`, reading the approval service's `store`. */
function insiderOf(store: ApprovalStore, publisher: EventPublisher, topic: string): LogInsider {
  return {
    pendingApproval: (id) => store.get(id),
    writeApprovalsTopic: (key, value) => publisher.publishDurable({ topic, key, value: Buffer.from(value) }),
  };
}

function tokenFrom(issuer: string) {
  return async (opts: TokenRequestOptions): Promise<string> => (await requestToken(issuer, opts)).accessToken;
}

/** `npm start`'s composition, in this process, with its state in a fresh folder and ports picked by the OS. */
export async function embeddedTarget(): Promise<GatehouseTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-embedded-e2e-'));
  const running = await startEmbedded({ dir, ports: EPHEMERAL_PORTS, logger: testLogger });
  const e = running.env;
  const writer = running.eventLog.createPublisher(testLogger);
  writer.start();
  return {
    name: 'embedded',
    pg: { host: e.GATEHOUSE_PG_HOST, port: Number(e.GATEHOUSE_PG_PORT), ssl: false },
    issuer: e.GATEHOUSE_OIDC_ISSUER,
    recorderUrl: e.GATEHOUSE_RECORDER_URL,
    approvalUrl: e.GATEHOUSE_APPROVAL_URL,
    token: tokenFrom(e.GATEHOUSE_OIDC_ISSUER),
    // The embedded configs keep the default topic names (`kafka.topics.approvals`).
    insider: insiderOf(running.approval.store, writer, 'gatehouse.approvals'),
    async close() {
      await writer.close(5_000);
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** The cluster `npm run cluster:up` started (addresses from `.stack/env`), or undefined when it is not running. */
export async function clusterTarget(): Promise<GatehouseTarget | undefined> {
  const env = stackEnv();
  const host = env.GATEHOUSE_PG_HOST;
  const port = Number(env.GATEHOUSE_PG_PORT);
  const issuer = env.GATEHOUSE_OIDC_ISSUER;
  if (!host || !port || !issuer || !env.GATEHOUSE_RECORDER_URL || !env.GATEHOUSE_APPROVAL_URL)
    return undefined;
  if (!(await reachable(host, port))) return undefined;
  return {
    name: 'cluster',
    pg: { host, port, ssl: true },
    issuer,
    recorderUrl: env.GATEHOUSE_RECORDER_URL,
    approvalUrl: env.GATEHOUSE_APPROVAL_URL,
    token: tokenFrom(issuer),
    close: () => Promise.resolve(),
  };
}

/**
 * The cluster's parts on the stack, when `cluster:up` is not running (CI): Kafka and ClickHouse of the stack, the
 * dev IdP, an approval service, a gateway node (TLS) and a recorder, each the service CI tests elsewhere, in this
 * process. The same shared bodies then run on Kafka + ClickHouse as well as on the embedded parts.
 */
export async function stackTarget(): Promise<GatehouseTarget> {
  const fx = await startGatewayFixture({ approvals: true });
  const db = await testDatabase('gatehouse_e2e');
  const recorder = await startFixtureRecorder(fx, 'e2e', db.opts);
  const writer = approvalTopicWriter();
  const issuer = fx.idp.issuer;
  return {
    name: 'cluster',
    pg: { host: '127.0.0.1', port: fx.pgPort, ssl: true },
    issuer,
    recorderUrl: `http://127.0.0.1:${recorder.httpPort}`,
    approvalUrl: fx.approval!.url,
    token: tokenFrom(issuer),
    insider: insiderOf(fx.approval!.store, writer, `${fx.sessionsTopic}.approvals`),
    async close() {
      await writer.close(5_000);
      await fx.stop();
      await recorder.stop();
      await db.drop();
    },
  };
}
