import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeyFromEnv } from '../../services/cli/policy/policy-cli-env.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import { loadConfigFile } from '../../services/shared/config/load-config.js';
import { loadPublicKey, publicKeyText } from '../../services/shared/signing/signing-keys.js';
import { PROJECT_ROOT } from '../support/stack.js';

/**
 * What `npm run cluster:up` writes, without starting anything (`cluster.sh config`, in a stack folder of its own
 * holding a copy of the stack's env): every node on the policy stream pinning the cluster's policy-signing key, the
 * `.stack/env` lines `gatehouse policy …` needs, and `cluster.sh stop` putting `.stack/env` back as it was.
 */

const CLUSTER_KEYS =
  /^(GATEHOUSE_OIDC_ISSUER|GATEHOUSE_PG_HOST|GATEHOUSE_PG_PORT|GATEHOUSE_SSH_PORT|GATEHOUSE_RECORDER_URL|GATEHOUSE_GATEWAY_HEALTH_URL|GATEHOUSE_APPROVAL_URL|GATEHOUSE_CLUSTER_DIR|GATEHOUSE_MCP_URL|GATEHOUSE_HTTP_URL|GATEHOUSE_POLICY_\w+|GATEHOUSE_NODES_TOPIC)=/;

const stackDir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-config-'));
const envFile = join(stackDir, 'env');
const clusterDir = join(stackDir, 'cluster');
let stackEnvText: string;

function cluster(...args: string[]): string {
  return execFileSync('bash', [join(PROJECT_ROOT, 'deploy/cluster/cluster.sh'), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GATEHOUSE_STACK_DIR: stackDir },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

function envOf(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

beforeAll(() => {
  // The stack's own lines only (a running cluster's lines are left out), as `npm run stack:up` wrote them.
  const real = readFileSync(join(PROJECT_ROOT, '.stack', 'env'), 'utf8');
  stackEnvText = real
    .split('\n')
    .filter((l) => !CLUSTER_KEYS.test(l))
    .join('\n');
  writeFileSync(envFile, stackEnvText);
  cluster('config', '--gateways', '2');
});

afterAll(() => rmSync(stackDir, { recursive: true, force: true }));

describe('cluster.sh config / stop', () => {
  it('puts every node on the policy stream, pinning the public half of the cluster policy-signing key', () => {
    const keyFile = join(clusterDir, 'policy-signing.key');
    expect(statSync(keyFile).mode & 0o077).toBe(0);
    for (const i of [1, 2]) {
      const config = loadConfigFile(gatewayConfigSchema, join(clusterDir, `gateway-${i}.yaml`));
      expect(config.nodeId).toBe(`local-gw-${i}`);
      expect(config.policy.bundleDir).toBe(join(clusterDir, 'policy'));
      // Behind HAProxy's send-proxy-v2 from 127.0.0.2 (haproxy-config.sh --send-proxy postgres,ssh --source …).
      expect(config.listeners.postgres?.proxyProtocol?.trustedProxies).toEqual(['127.0.0.2']);
      expect(config.listeners.ssh?.proxyProtocol?.trustedProxies).toEqual(['127.0.0.2']);
      expect(config.policy.stream).toMatchObject({
        topic: 'gatehouse.policies',
        nodesTopic: 'gatehouse.nodes',
        trustedKeys: { 'local-dev-policy-1': { file: join(clusterDir, 'policy-signing.pub') } },
      });
    }
    const key = signingKeyFromEnv({
      env: envOf(readFileSync(envFile, 'utf8')),
      stdout: () => undefined,
      stderr: () => undefined,
    });
    expect(key.keyId).toBe('local-dev-policy-1');
    const pinned = loadPublicKey(
      'local-dev-policy-1',
      readFileSync(join(clusterDir, 'policy-signing.pub'), 'utf8'),
    );
    expect(publicKeyText(pinned)).toBe(publicKeyText(key));
  });

  it('gives .stack/env what `gatehouse policy` reads, and keeps the key on a second run', () => {
    const env = envOf(readFileSync(envFile, 'utf8'));
    expect(env).toMatchObject({
      GATEHOUSE_POLICY_SIGNING_KEY_FILE: join(clusterDir, 'policy-signing.key'),
      GATEHOUSE_POLICY_SIGNING_KEY_ID: 'local-dev-policy-1',
      GATEHOUSE_POLICY_TOPIC: 'gatehouse.policies',
      GATEHOUSE_NODES_TOPIC: 'gatehouse.nodes',
      GATEHOUSE_CLUSTER_DIR: clusterDir,
      GATEHOUSE_OIDC_ISSUER: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
    });
    // Kafka and ClickHouse come from the stack's own lines.
    for (const k of [
      'GATEHOUSE_KAFKA_BROKERS',
      'GATEHOUSE_KAFKA_CA_FILE',
      'GATEHOUSE_CLICKHOUSE_URL',
      'OPA_BIN',
    ])
      expect(env[k], k).toBeTruthy();
    const pem = readFileSync(join(clusterDir, 'policy-signing.key'), 'utf8');
    cluster('config', '--gateways', '2');
    expect(readFileSync(join(clusterDir, 'policy-signing.key'), 'utf8')).toBe(pem);
    const lines = readFileSync(envFile, 'utf8').split('\n');
    expect(lines.filter((l) => l.startsWith('GATEHOUSE_POLICY_SIGNING_KEY_FILE='))).toHaveLength(1);
  });

  it('stop leaves .stack/env as the stack wrote it', () => {
    cluster('stop');
    expect(readFileSync(envFile, 'utf8')).toBe(stackEnvText);
  });

  it('refuses a bad node count with the range', () => {
    expect(() => cluster('config', '--gateways', '12')).toThrow(/--gateways must be 1-9 \(got '12'\)/);
  });
});
