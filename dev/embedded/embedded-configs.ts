import { approvalConfigSchema } from '../../services/approval/config.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import { recorderConfigSchema } from '../../services/recorder/config.js';
import { parseConfig } from '../../services/shared/config/load-config.js';

/** The ports of `npm start` (23000-23099, apart from `cluster:up`'s, so both can run at once). */
export type EmbeddedPorts = {
  postgres: number;
  idp: number;
  recorder: number;
  approval: number;
  approvalGrpc: number;
  gatewayHealth: number;
  recorderHealth: number;
  approvalHealth: number;
  /** The gateway's MCP (Streamable HTTP) and HTTP-proxy listeners. */
  mcp: number;
  http: number;
  /** The demo upstreams the gateway forwards to: PGlite, the demo MCP server, the demo HTTP API. */
  upstream: number;
  mcpUpstream: number;
  httpUpstream: number;
};

export const DEFAULT_PORTS: Readonly<EmbeddedPorts> = Object.freeze({
  postgres: 23000,
  idp: 23001,
  recorder: 23002,
  approval: 23003,
  approvalGrpc: 23004,
  gatewayHealth: 23005,
  recorderHealth: 23006,
  approvalHealth: 23007,
  mcp: 23008,
  http: 23009,
  upstream: 23010,
  mcpUpstream: 23011,
  httpUpstream: 23012,
});

/** Ports 0 everywhere (tests: the OS picks free ones). */
export const EPHEMERAL_PORTS: Readonly<EmbeddedPorts> = Object.freeze(
  Object.fromEntries(Object.keys(DEFAULT_PORTS).map((k) => [k, 0])) as EmbeddedPorts,
);

export type ConfigInputs = {
  host: string;
  ports: EmbeddedPorts;
  issuer: string;
  /** A file holding the upstream password (PGlite accepts any; the gateway never takes one inline). */
  upstreamPasswordFile: string;
  policyDir: string;
  signingKeyFile: string;
  signingPublicKey: string;
};

const KEY_ID = 'embedded-1';
/**
 * The `kafka` section every service schema requires. Its broker is never contacted: the embedded event log is
 * injected instead. Topic names and publisher bounds still come from here, as in the cluster.
 */
const EVENT_LOG_SECTION = {
  brokers: ['embedded-log:0'],
  topics: { replicationFactor: 1, minInsyncReplicas: 1 },
};

const oidcOf = (c: ConfigInputs) => ({ issuer: c.issuer, audience: 'gatehouse' });

// The services' configurations, parsed by their own schemas (every default as in the cluster).

/** A demo upstream API (MCP server or HTTP API) as it listens, and the file of the token the gateway presents. */
export type DemoUpstream = { url: string; tokenFile: string };

/**
 * The gateway node's: PostgreSQL, MCP and HTTP listeners and the `demo-pg`, `demo-mcp` and `demo-http` connections
 * to the in-process demo upstreams (their ports may have been picked by the OS).
 */
export function gatewayConfig(
  c: ConfigInputs,
  approvalUrl: string,
  upstream: { host: string; port: number; database: string; user: string },
  demos: { mcp: DemoUpstream; http: DemoUpstream },
) {
  const oidc = oidcOf(c);
  const bearer = (d: DemoUpstream) => ({
    url: d.url,
    auth: { type: 'bearer', token: { file: d.tokenFile } },
  });
  return parseConfig(
    gatewayConfigSchema,
    {
      nodeId: 'embedded-gw-1',
      health: { host: c.host, port: c.ports.gatewayHealth },
      // Loopback only, without TLS: a trial on one machine (the cluster's listener requires TLS).
      listeners: {
        postgres: { host: c.host, port: c.ports.postgres, allowPlaintext: true },
        mcp: { host: c.host, port: c.ports.mcp, allowPlaintext: true },
        http: { host: c.host, port: c.ports.http, allowPlaintext: true },
      },
      oidc,
      kafka: EVENT_LOG_SECTION,
      policy: { bundleDir: c.policyDir },
      approvals: { url: approvalUrl, trustedKeys: { [KEY_ID]: c.signingPublicKey } },
      connections: [
        {
          name: 'demo-pg',
          protocol: 'postgres',
          upstream: { ...upstream, password: { file: c.upstreamPasswordFile } },
          tags: { env: 'demo' },
        },
        { name: 'demo-mcp', protocol: 'mcp', upstream: bearer(demos.mcp), tags: { env: 'demo' } },
        { name: 'demo-http', protocol: 'http', upstream: bearer(demos.http), tags: { env: 'demo' } },
      ],
    },
    'embedded gateway config',
  );
}

export function approvalConfig(c: ConfigInputs) {
  const oidc = oidcOf(c);
  return parseConfig(
    approvalConfigSchema,
    {
      instanceId: 'embedded-approval-1',
      kafka: EVENT_LOG_SECTION,
      oidc,
      signing: { keyId: KEY_ID, privateKey: { file: c.signingKeyFile } },
      http: { host: c.host, port: c.ports.approval },
      grpc: { host: c.host, port: c.ports.approvalGrpc },
      health: { host: c.host, port: c.ports.approvalHealth },
      web: {},
    },
    'embedded approval config',
  );
}

export function recorderConfig(c: ConfigInputs) {
  const oidc = oidcOf(c);
  return parseConfig(
    recorderConfigSchema,
    {
      nodeId: 'embedded-recorder-1',
      kafka: EVENT_LOG_SECTION,
      // Never contacted: the embedded DuckDB store is injected. (The schema requires the section.)
      clickhouse: { url: 'http://embedded-store.invalid:1', migrate: false },
      http: { host: c.host, port: c.ports.recorder },
      health: { host: c.host, port: c.ports.recorderHealth },
      api: { oidc, allowedGroups: ['soc'], web: {} },
    },
    'embedded recorder config',
  );
}
