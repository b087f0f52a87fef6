import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, mkdtempSync as mkdtemp, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPolicy } from '../../services/cli/policy/run-policy.js';
import { loadSigningKey, publicKeyText } from '../../services/shared/signing/signing-keys.js';
import type { SigningKey } from '../../services/shared/signing/signing-keys.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import type { GatewayConfig } from '../../services/gateway/config.js';
import { parseConfig } from '../../services/shared/config/load-config.js';
import { fixtureKafkaSection, selfSignedCert } from './gateway.js';
import { kafkaAuthConfig, kafkaBrokers, stackEnv, stackValue } from './stack.js';

/** A policy-publisher key pair for one test: the PEM file the CLI signs with, and the public text nodes pin. */
export function testPolicyKey(keyId = 'test-policy-1'): { key: SigningKey; file: string; pub: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-key-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const file = join(dir, 'policy-signing.key');
  writeFileSync(file, pem, { mode: 0o600 });
  const key = loadSigningKey(keyId, pem);
  return { key, file, pub: publicKeyText(key) };
}

/** Fresh policies and nodes topic names for one test (the gateway principal may create, read and write `test.`). */
export function policyTopicNames(): { policies: string; nodes: string } {
  const id = randomUUID().slice(0, 8);
  return { policies: `test.policies.${id}`, nodes: `test.nodes.${id}` };
}

/** The environment `gatehouse policy` reads, as `.stack/env` gives it, publishing as the gateway test principal. */
export function policyCliEnv(o: {
  topics: { policies: string; nodes: string };
  keyFile: string;
  keyId: string;
  issuer: string;
  token: string;
}): Record<string, string> {
  const auth = kafkaAuthConfig('gateway');
  const env = stackEnv();
  return {
    GATEHOUSE_KAFKA_BROKERS: kafkaBrokers().join(','),
    ...(auth.ssl ? { GATEHOUSE_KAFKA_CA_FILE: auth.ssl.caFile } : {}),
    ...(auth.sasl
      ? {
          GATEHOUSE_KAFKA_POLICY_USER: auth.sasl.username,
          GATEHOUSE_KAFKA_POLICY_PASSWORD_FILE: auth.sasl.password.file,
        }
      : {}),
    GATEHOUSE_KAFKA_BROKER_COUNT: env.GATEHOUSE_KAFKA_BROKER_COUNT ?? '3',
    GATEHOUSE_POLICY_TOPIC: o.topics.policies,
    GATEHOUSE_NODES_TOPIC: o.topics.nodes,
    GATEHOUSE_POLICY_CLI_GROUP_PREFIX: 'test-policy-cli',
    GATEHOUSE_POLICY_SIGNING_KEY_FILE: o.keyFile,
    GATEHOUSE_POLICY_SIGNING_KEY_ID: o.keyId,
    GATEHOUSE_OIDC_ISSUER: o.issuer,
    GATEHOUSE_TOKEN: o.token,
    OPA_BIN: env.OPA_BIN ?? '',
  };
}

/** Runs `gatehouse policy ARGS` in process; returns the exit code and output. */
export async function policyCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runPolicy(args, {
    env,
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  });
  return { code, stdout, stderr };
}

/** A gateway node for the policy tests: a Postgres listener (TLS) to the stack's demo database, `policy` as given. */
export function policyNodeConfig(o: {
  nodeId: string;
  issuer: string;
  sessionsTopic: string;
  policy: object;
}): GatewayConfig {
  const tls = selfSignedCert(mkdtemp(join(tmpdir(), 'gatehouse-policy-tls-')));
  return parseConfig(
    gatewayConfigSchema,
    {
      nodeId: o.nodeId,
      health: { port: 0 },
      listeners: { postgres: { port: 0, tls } },
      oidc: { issuer: o.issuer, audience: 'gatehouse', clockToleranceSeconds: 0 },
      kafka: fixtureKafkaSection(o.sessionsTopic),
      policy: o.policy,
      connections: [
        {
          name: 'demo-pg',
          protocol: 'postgres',
          upstream: {
            host: stackValue('PG_TARGET_HOST'),
            port: Number(stackValue('PG_TARGET_PORT')),
            database: stackValue('PG_TARGET_DATABASE'),
            user: stackValue('PG_TARGET_USER'),
            password: { file: stackValue('PG_TARGET_PASSWORD_FILE') },
          },
          tags: { env: 'demo' },
        },
      ],
    },
    `policy test gateway ${o.nodeId}`,
  );
}
