import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaConfigSchema } from '../config/kafka-config.js';
import { ConfigError, SecretUnavailableError } from '../config/errors.js';
import { parseConfig } from '../config/load-config.js';
import { KafkaSecurityConfigError } from './errors.js';
import { kafkaSecurity } from './kafka-security.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-kafka-sec-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const passwordFile = join(dir, 'password');
writeFileSync(passwordFile, 's3cret-value\n');

const parse = (raw: Record<string, unknown>) =>
  parseConfig(kafkaConfigSchema, { brokers: ['127.0.0.1:9093'], ...raw }, 'test');

describe('kafka.ssl / kafka.sasl', () => {
  it('is plaintext and anonymous when neither is set', () => {
    expect(kafkaSecurity(parse({}))).toEqual({});
  });

  it('reads the CA file and the password reference; the mechanism defaults to SCRAM-SHA-512', () => {
    const config = parse({
      ssl: { caFile: ca },
      sasl: { username: 'gateway', password: { file: passwordFile } },
    });
    const s = kafkaSecurity(config);
    expect(s.ssl?.ca).toEqual([expect.stringContaining('BEGIN CERTIFICATE')]);
    expect(s.ssl?.rejectUnauthorized).toBe(true);
    expect(s.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'gateway', password: 's3cret-value' });
    // An IP broker gets no SNI name (RFC 6066); the certificate's IP SAN is checked against the host.
    expect(s.ssl && 'servername' in s.ssl && s.ssl.servername === undefined).toBe(true);
  });

  it('keeps SNI for broker host names', () => {
    const s = kafkaSecurity(parse({ brokers: ['kafka-1.internal:9093'], ssl: {} }));
    expect(s.ssl).toEqual({ rejectUnauthorized: true });
  });

  it('refuses SASL without TLS, and an inline password', () => {
    expect(() => parse({ sasl: { username: 'g', password: { file: passwordFile } } })).toThrow(ConfigError);
    expect(() => parse({ ssl: {}, sasl: { username: 'g', password: 'inline' } })).toThrow(ConfigError);
  });

  it('names the missing file or reference, never a secret', () => {
    expect(() => kafkaSecurity(parse({ ssl: { caFile: join(dir, 'missing.pem') } }))).toThrow(
      KafkaSecurityConfigError,
    );
    const config = parse({ ssl: {}, sasl: { username: 'g', password: { env: 'GH_TEST_NO_SUCH_VAR' } } });
    expect(() => kafkaSecurity(config, {})).toThrow(SecretUnavailableError);
    expect(() => kafkaSecurity(config, {})).toThrow(/env:GH_TEST_NO_SUCH_VAR/);
  });
});
