import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../shared/config/load-config.js';
import { gatewayConfigSchema } from './config.js';

/** The gateway.yaml deploy/cluster/cluster.sh writes (paths and ports filled in): it must keep loading. */
const CLUSTER_YAML = `
nodeId: local-gw-1
health: { host: 127.0.0.1, port: 19480 }
listeners:
  postgres:
    host: 127.0.0.1
    port: 16432
    tls: { cert: /c/tls.crt, key: /c/tls.key }
  ssh:
    host: 127.0.0.1
    port: 12223
    hostKey: /c/ssh_host_ed25519_key
oidc:
  issuer: http://127.0.0.1:19400
  audience: gatehouse
kafka:
  brokers: ["127.0.0.1:19092","127.0.0.1:19093"]
  ssl: { caFile: /s/ca.pem }
  sasl: { mechanism: scram-sha-512, username: gateway, password: { file: /s/gateway.pw } }
  topics: { replicationFactor: 3, minInsyncReplicas: 2 }
policy:
  bundleDir: /c/policy
approvals:
  url: http://127.0.0.1:18620
  trustedKeys:
    local-dev-1: { file: /c/approval-signing.pub }
connections:
  - name: demo-pg
    protocol: postgres
    upstream: { host: 127.0.0.1, port: 15432, database: demo, user: gatehouse, password: { file: /s/pg.pw } }
    tags: { env: demo }
  - name: demo-ssh
    protocol: ssh
    upstream:
      host: 127.0.0.1
      port: 12222
      user: gh-demo
      privateKey: { file: /s/id_ed25519 }
      hostKey: { file: /s/host.pub }
    tags: { env: demo }
`;

const minimal = {
  oidc: { issuer: 'http://127.0.0.1:1', audience: 'gatehouse' },
  kafka: { brokers: ['127.0.0.1:9092'] },
  listeners: {},
  policy: { bundleDir: '/p' },
  connections: [
    {
      name: 'pg',
      protocol: 'postgres',
      upstream: { host: 'db', database: 'd', user: 'u', password: { env: 'PW' } },
    },
  ],
};

describe('gateway config', () => {
  it("loads the cluster script's gateway.yaml unchanged", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gh-gw-config-')), 'gateway.yaml');
    writeFileSync(file, CLUSTER_YAML);
    const c = loadConfigFile(gatewayConfigSchema, file);
    expect(c.nodeId).toBe('local-gw-1');
    expect(c.listeners.ssh?.port).toBe(12223);
    expect(c.oidc.clockToleranceSeconds).toBe(30);
    expect(c.approvals?.trustedKeys).toEqual({ 'local-dev-1': { file: '/c/approval-signing.pub' } });
  });

  it('holds every bound with its default', () => {
    const c = parseConfig(
      gatewayConfigSchema,
      {
        ...minimal,
        listeners: { postgres: { allowPlaintext: true } },
        approvals: { url: 'http://a', trustedKeys: { k1: { file: '/k' } } },
      },
      'test',
    );
    expect(c.shutdown).toEqual({ drainTimeoutMs: 10_000, exitTimeoutMs: 30_000 });
    expect(c.sql).toEqual({
      analysisCacheEntries: 1000,
      lineageCacheEntries: 1000,
      maxCachedTextLength: 8192,
      catalogRefreshMinMs: 1000,
    });
    expect(c.listeners.postgres?.maxBackendMessageBytes).toBe(256 * 1024 * 1024);
    expect(c.approvals).toMatchObject({
      maxPending: 1000,
      maxGrants: 10_000,
      maxDecidedIds: 100_000,
      maxRefusalsPerRequest: 100,
      logTimeoutMs: 15_000,
      maxRequestTextLength: 256 * 1024,
      startTimeoutMs: 30_000,
    });
  });

  it('rejects a drain bound at or above the exit bound, with its path', () => {
    const r = gatewayConfigSchema.safeParse({ ...minimal, shutdown: { drainTimeoutMs: 30_000 } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['shutdown.drainTimeoutMs']);
  });
});
