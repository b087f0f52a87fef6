import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { GatehouseError } from '../../shared/errors.js';
import { kafkaConfigSchema } from '../../shared/config/kafka-config.js';
import { createKafka } from '../../shared/log/kafka.js';
import { kafkaSecurity } from '../../shared/log/kafka-security.js';
import type { Logger } from '../../shared/logger.js';
import { loadSigningKey } from '../../shared/signing/signing-keys.js';
import type { SigningKey } from '../../shared/signing/signing-keys.js';

/** What a `gatehouse policy` command touches outside itself, injectable for tests. */
export type PolicyCliIo = {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
};

export const processIo: PolicyCliIo = {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Bad arguments or a missing setting: the message, the usage, exit 2. */
export class PolicyUsageError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_POLICY_USAGE', message);
  }
}

/** Topic names: flags, else the environment, else the defaults the gateway's `policy.stream` uses. */
export function policyTopics(
  io: PolicyCliIo,
  flags: { topic?: string | undefined; nodesTopic?: string | undefined },
): { policies: string; nodes: string } {
  return {
    policies: flags.topic ?? io.env.GATEHOUSE_POLICY_TOPIC ?? 'gatehouse.policies',
    nodes: flags.nodesTopic ?? io.env.GATEHOUSE_NODES_TOPIC ?? 'gatehouse.nodes',
  };
}

function required(io: PolicyCliIo, name: string): string {
  const v = io.env[name]?.trim();
  if (!v) throw new PolicyUsageError(`$${name} is not set (load .stack/env, or set it)`);
  return v;
}

/**
 * A Kafka client from the environment (`.stack/env`): $GATEHOUSE_KAFKA_BROKERS, the CA $GATEHOUSE_KAFKA_CA_FILE and
 * the publisher principal $GATEHOUSE_KAFKA_POLICY_USER / $GATEHOUSE_KAFKA_POLICY_PASSWORD_FILE (falling back to the
 * stack's admin principal, the one that may write the policies topic there).
 */
export function kafkaFromEnv(io: PolicyCliIo, log: Logger): Kafka {
  const user = io.env.GATEHOUSE_KAFKA_POLICY_USER ?? io.env.GATEHOUSE_KAFKA_ADMIN_USER;
  const passwordFile =
    io.env.GATEHOUSE_KAFKA_POLICY_PASSWORD_FILE ?? io.env.GATEHOUSE_KAFKA_ADMIN_PASSWORD_FILE;
  const caFile = io.env.GATEHOUSE_KAFKA_CA_FILE;
  const parsed = kafkaConfigSchema.safeParse({
    brokers: required(io, 'GATEHOUSE_KAFKA_BROKERS')
      .split(',')
      .map((b) => b.trim()),
    ...(caFile ? { ssl: { caFile } } : {}),
    ...(user && passwordFile
      ? {
          sasl: {
            mechanism: io.env.GATEHOUSE_KAFKA_SASL_MECHANISM ?? 'scram-sha-512',
            username: user,
            password: { file: passwordFile },
          },
        }
      : {}),
  });
  if (!parsed.success) {
    throw new PolicyUsageError(
      `Kafka settings from the environment are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return createKafka({
    brokers: parsed.data.brokers,
    clientId: 'gatehouse-policy-cli',
    security: kafkaSecurity(parsed.data, io.env),
    logger: log,
  });
}

/**
 * The policy-signing key: $GATEHOUSE_POLICY_SIGNING_KEY_FILE (PKCS#8 PEM, Ed25519) with id
 * $GATEHOUSE_POLICY_SIGNING_KEY_ID; in the local cluster `$GATEHOUSE_CLUSTER_DIR/policy-signing.key`, id
 * `local-dev-policy-1`.
 */
export function signingKeyFromEnv(io: PolicyCliIo): SigningKey {
  const cluster = io.env.GATEHOUSE_CLUSTER_DIR;
  const file =
    io.env.GATEHOUSE_POLICY_SIGNING_KEY_FILE ?? (cluster ? join(cluster, 'policy-signing.key') : undefined);
  if (!file) {
    throw new PolicyUsageError(
      'no policy-signing key: set $GATEHOUSE_POLICY_SIGNING_KEY_FILE (and $GATEHOUSE_POLICY_SIGNING_KEY_ID)',
    );
  }
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch {
    throw new PolicyUsageError(`cannot read the policy-signing key ${file}`);
  }
  return loadSigningKey(io.env.GATEHOUSE_POLICY_SIGNING_KEY_ID ?? 'local-dev-policy-1', pem);
}
