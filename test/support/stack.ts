import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENV_FILE = join(PROJECT_ROOT, '.stack', 'env');
const STACK_SCRIPT = join(PROJECT_ROOT, 'deploy', 'stack', 'stack.sh');

let cached: Readonly<Record<string, string>> | undefined;

/** The `.stack/env` written by `npm run stack:up` (KEY=value lines). */
export function stackEnv(): Readonly<Record<string, string>> {
  if (cached) return cached;
  if (!existsSync(ENV_FILE)) throw new Error(`${ENV_FILE} is missing: run \`npm run stack:up\` first`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
  }
  cached = Object.freeze(env);
  return cached;
}

export function stackValue(key: string): string {
  const value = stackEnv()[key];
  if (value === undefined || value === '') throw new Error(`${key} is not set in .stack/env`);
  return value;
}

export function kafkaBrokers(): string[] {
  return stackValue('GATEHOUSE_KAFKA_BROKERS').split(',');
}

/** Runs a stack sub-command (`kafka-kill 2`, `kafka-start 2`, `kafka-stop-all`, `kafka-start-all`). */
export function stackCommand(...args: string[]): string {
  return execFileSync('bash', [STACK_SCRIPT, ...args], { encoding: 'utf8', timeout: 180_000, stdio: 'pipe' });
}

/** The principals of the stack's Kafka (deploy/stack/kafka-auth.sh): one per service, and admin (a super user). */
export type KafkaRole = 'admin' | 'gateway' | 'recorder' | 'approval';

export type KafkaAuthConfig = {
  ssl?: { caFile: string };
  sasl?: { mechanism: 'scram-sha-512'; username: string; password: { file: string } };
};

/**
 * `kafka.ssl` and `kafka.sasl` for a service config acting as `role`, from `.stack/env`. Empty for a stack without
 * authentication (written before it had any), so the same tests run against both.
 */
export function kafkaAuthConfig(role: KafkaRole): KafkaAuthConfig {
  const env = stackEnv();
  const caFile = env.GATEHOUSE_KAFKA_CA_FILE;
  if (!caFile) return {};
  const R = role.toUpperCase();
  return {
    ssl: { caFile },
    sasl: {
      mechanism: 'scram-sha-512',
      username: stackValue(`GATEHOUSE_KAFKA_${R}_USER`),
      password: { file: stackValue(`GATEHOUSE_KAFKA_${R}_PASSWORD_FILE`) },
    },
  };
}

/** `brokers` plus the credentials of `role`: the start of a service's `kafka` config section in tests. */
export function kafkaConnection(role: KafkaRole): { brokers: string[] } & KafkaAuthConfig {
  return { brokers: kafkaBrokers(), ...kafkaAuthConfig(role) };
}
