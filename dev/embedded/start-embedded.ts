import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApproval } from '../../services/approval/service.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { buildGateway } from '../../services/gateway/gateway.js';
import type { RunningGateway } from '../../services/gateway/gateway.js';
import { defaultMigrationsDir, loadMigrations } from '../../services/recorder/clickhouse/migrations.js';
import { buildRecorder } from '../../services/recorder/recorder.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import { DuckDbStore } from '../../services/recorder/store/duckdb/duckdb-store.js';
import { EmbeddedEventLog } from '../../services/shared/log/embedded/embedded-log.js';
import { createLogger } from '../../services/shared/logger.js';
import type { Logger } from '../../services/shared/logger.js';
import { startDemoHttpServer } from '../demo-http/demo-server.js';
import { startDemoMcpServer } from '../demo-mcp/demo-server.js';
import { startPgliteServer } from '../demo-pg/pglite-server.js';
import type { RunningPglite } from '../demo-pg/pglite-server.js';
import { startIdp } from '../idp/index.js';
import type { RunningIdp } from '../idp/index.js';
import { approvalConfig, DEFAULT_PORTS, gatewayConfig, recorderConfig } from './embedded-configs.js';
import type { DemoUpstream, EmbeddedPorts } from './embedded-configs.js';
import { PREBUILT_POLICY_DIR } from './policy-sources.js';

export type EmbeddedOptions = {
  /** The one folder of all state (log, recordings, demo database, keys, logs, env file). */
  dir: string;
  host?: string;
  ports?: Partial<EmbeddedPorts>;
  /** Default: the committed prebuilt bundle (policies/prebuilt). */
  policyDir?: string;
  /** Where the services log (JSON lines). Default: `<dir>/logs/gatehouse.log`. */
  logger?: Logger;
};

/** What `npm start` prints and writes to `<dir>/env`: the same names as the cluster's `.stack/env`. */
export type EmbeddedEnv = {
  GATEHOUSE_OIDC_ISSUER: string;
  GATEHOUSE_PG_HOST: string;
  GATEHOUSE_PG_PORT: string;
  GATEHOUSE_MCP_URL: string;
  GATEHOUSE_HTTP_URL: string;
  GATEHOUSE_RECORDER_URL: string;
  GATEHOUSE_APPROVAL_URL: string;
  GATEHOUSE_GATEWAY_HEALTH_URL: string;
};

export type RunningEmbedded = {
  readonly env: EmbeddedEnv;
  readonly policyRevision: string;
  readonly gateway: RunningGateway;
  readonly recorder: Recorder;
  readonly approval: RunningApprovalService;
  readonly idp: RunningIdp;
  /** The event log every part reads and writes (its folder is `DIR/log`). */
  readonly eventLog: EmbeddedEventLog;
  /** Stops every part (gateway first, so its audit is flushed to the log the recorder still reads). */
  stop(): Promise<void>;
};

/** Keys made once per state folder: the approval service's Ed25519 signing key (PKCS#8 PEM) and its public half. */
function signingKey(dir: string): { file: string; publicPem: string } {
  const file = join(dir, 'approval-signing.key');
  const pub = join(dir, 'approval-signing.pub');
  if (!existsSync(file) || !existsSync(pub)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return { file, publicPem: readFileSync(pub, 'utf8') };
}

/** The token a demo upstream accepts (the gateway's own credential for it), made once per state folder. */
function demoToken(dir: string, name: string): { file: string; token: string } {
  const file = join(dir, `${name}.token`);
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  return { file, token: readFileSync(file, 'utf8').trim() };
}

/**
 * Everything of Gatehouse in one process, on the cluster's code paths with embedded parts behind the same
 * interfaces: the dev OIDC provider, the demo upstreams (PGlite, the demo MCP server and HTTP API), the event log (`EmbeddedEventLog`), the approval
 * service, a gateway node and the recorder (`DuckDbStore`). Resolves once every part is ready.
 */
export async function startEmbedded(opts: EmbeddedOptions): Promise<RunningEmbedded> {
  const host = opts.host ?? '127.0.0.1';
  const policyDir = opts.policyDir ?? PREBUILT_POLICY_DIR;
  const ports: EmbeddedPorts = { ...DEFAULT_PORTS, ...opts.ports };
  const dirs = { keys: join(opts.dir, 'keys'), logs: join(opts.dir, 'logs') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  const logger =
    opts.logger ??
    createLogger({
      service: 'gatehouse',
      destination: createWriteStream(join(dirs.logs, 'gatehouse.log'), { flags: 'a' }),
    });

  const eventLog = await EmbeddedEventLog.open({ dir: join(opts.dir, 'log'), log: logger });
  const stops: (() => Promise<unknown>)[] = [() => eventLog.close()];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    // The demo database is the slowest part on a first start (PGlite's initdb): the other services start meanwhile.
    const upstreamStarting = startPgliteServer({
      dataDir: join(opts.dir, 'demo-pg'),
      host,
      port: ports.upstream,
    });
    stops.push(async () => (await upstreamStarting.catch(() => undefined))?.stop());
    const [idp, store] = await Promise.all([
      startIdp({
        host,
        port: ports.idp,
        jwksFile: join(dirs.keys, 'idp-jwks.json'),
        users: { 'soc-analyst': { groups: ['soc'] }, dora: { groups: ['dba'] } },
        logger,
      }),
      DuckDbStore.open(join(opts.dir, 'recordings.duckdb'), loadMigrations(defaultMigrationsDir())),
    ]);
    stops.push(() => idp.stop());
    let storeOwned = false;
    stops.push(() => (storeOwned ? Promise.resolve() : store.close()));

    const mcpToken = demoToken(dirs.keys, 'demo-mcp');
    const httpToken = demoToken(dirs.keys, 'demo-http');
    const [mcpDemo, httpDemo] = await Promise.all([
      startDemoMcpServer({ host, port: ports.mcpUpstream, token: mcpToken.token }),
      startDemoHttpServer({ host, port: ports.httpUpstream, token: httpToken.token }),
    ]);
    stops.push(
      () => mcpDemo.close(),
      () => httpDemo.close(),
    );
    const demos: { mcp: DemoUpstream; http: DemoUpstream } = {
      mcp: { url: mcpDemo.url, tokenFile: mcpToken.file },
      http: { url: httpDemo.url, tokenFile: httpToken.file },
    };
    const key = signingKey(dirs.keys);
    const passwordFile = join(dirs.keys, 'demo-pg.password');
    if (!existsSync(passwordFile)) writeFileSync(passwordFile, 'pglite\n', { mode: 0o600 });
    const inputs = {
      host,
      ports,
      issuer: idp.issuer,
      upstreamPasswordFile: passwordFile,
      policyDir,
      signingKeyFile: key.file,
      signingPublicKey: key.publicPem,
    };

    const approval = await buildApproval(approvalConfig(inputs), { logger, eventLog }).start();
    stops.push(() => approval.stop());
    await approval.ready;
    storeOwned = true;
    const recorder = await buildRecorder(recorderConfig(inputs), { logger, eventLog, store }).start();
    stops.push(() => recorder.stop());
    const gwConfig = gatewayConfig(inputs, approval.url, toUpstream(await upstreamStarting), demos);
    const gateway = await buildGateway(gwConfig, { logger, eventLog }).start();
    stops.push(() => gateway.stop());

    const env: EmbeddedEnv = {
      GATEHOUSE_OIDC_ISSUER: idp.issuer,
      GATEHOUSE_PG_HOST: host,
      GATEHOUSE_PG_PORT: String(gateway.postgresPort),
      GATEHOUSE_MCP_URL: `http://${host}:${gateway.mcp?.port}/mcp/demo-mcp`,
      GATEHOUSE_HTTP_URL: `http://${host}:${gateway.httpPort}/demo-http`,
      GATEHOUSE_RECORDER_URL: `http://${host}:${recorder.httpPort}`,
      GATEHOUSE_APPROVAL_URL: approval.url,
      GATEHOUSE_GATEWAY_HEALTH_URL: `http://${host}:${gateway.healthPort}`,
    };
    return {
      env,
      policyRevision: readFileSync(join(policyDir, 'revision'), 'utf8').trim(),
      gateway,
      recorder,
      approval,
      idp,
      eventLog,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function toUpstream(p: RunningPglite): { host: string; port: number; database: string; user: string } {
  return { host: p.host, port: p.port, database: p.database, user: p.user };
}
