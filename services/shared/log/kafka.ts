import { Kafka, logLevel } from 'kafkajs';
import type { KafkaConfig, LogEntry } from 'kafkajs';
import type { Logger } from '../logger.js';
import type { KafkaSecurity } from './kafka-security.js';
import { registerLz4Codec } from './lz4-codec.js';

export type KafkaClientOptions = {
  brokers: readonly string[];
  clientId: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** TLS and SASL settings (`kafkaSecurity(config.kafka)`); absent: plaintext and anonymous. */
  security?: KafkaSecurity;
  logger: Logger;
};

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs client whose own logs go to pino (at warn and above, as `kafka` child lines), able to write and read
 * LZ4-compressed record batches (see lz4-codec.ts).
 */
export function createKafka(opts: KafkaClientOptions): Kafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  registerLz4Codec((err) =>
    log.error(
      { err: { message: err.message } },
      'an LZ4 record batch was refused: its partition is not consumed past it (a principal with Write on the topic ' +
        'wrote it; kafka-delete-records moves the partition past it once it is examined)',
    ),
  );
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    connectionTimeout: opts.connectionTimeoutMs ?? 3000,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    ...(opts.security?.ssl ? { ssl: opts.security.ssl } : {}),
    ...(opts.security?.sasl ? { sasl: opts.security.sasl } : {}),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[LEVELS[level] ?? 'info'](rest, message);
      },
  };
  return new Kafka(config);
}
