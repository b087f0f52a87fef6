import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/kafka-config.js';
import { resolveSecret } from '../config/secrets.js';
import { KafkaSecurityConfigError } from './errors.js';

/** What a kafkajs client needs to reach an authenticated cluster (absent fields: plaintext, anonymous). */
export type KafkaSecurity = {
  readonly ssl?: ConnectionOptions;
  readonly sasl?: SASLOptions;
};

type SecurityConfig = {
  readonly brokers: readonly string[];
  readonly ssl?: Readonly<NonNullable<KafkaConfig['ssl']>> | undefined;
  readonly sasl?: Readonly<NonNullable<KafkaConfig['sasl']>> | undefined;
};

/**
 * Resolves `kafka.ssl` and `kafka.sasl` of a service's configuration once at start: reads the CA file and the
 * password reference. Errors name the file or reference, never a value.
 */
export function kafkaSecurity(config: SecurityConfig, env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  let ssl: ConnectionOptions | undefined;
  if (config.ssl) {
    ssl = { rejectUnauthorized: true };
    if (config.ssl.caFile !== undefined) {
      try {
        ssl.ca = [readFileSync(config.ssl.caFile, 'utf8')];
      } catch (cause) {
        throw new KafkaSecurityConfigError(`cannot read kafka.ssl.caFile ${config.ssl.caFile}`, { cause });
      }
    }
    // kafkajs sends the broker host as SNI; an IP address is not a valid SNI name (RFC 6066), so leave it out and
    // let Node check the certificate's IP SAN against the host.
    if (config.brokers.every((b) => isIP(b.slice(0, b.lastIndexOf(':'))) !== 0)) ssl.servername = undefined;
  }
  if (!config.sasl) return ssl ? { ssl } : {};
  const sasl: SASLOptions = {
    mechanism: config.sasl.mechanism,
    username: config.sasl.username,
    password: resolveSecret(config.sasl.password, env),
  };
  return { ...(ssl ? { ssl } : {}), sasl };
}
