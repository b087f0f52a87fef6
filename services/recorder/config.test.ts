import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/config/errors.js';
import { loadRecorderConfig, parseRecorderConfig } from './config.js';

const minimal = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  clickhouse: { url: 'http://127.0.0.1:8123' },
  api: { oidc: { issuer: 'http://127.0.0.1:9400', audience: 'gatehouse' } },
};

function issues(raw: unknown): readonly string[] {
  try {
    parseRecorderConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('recorder config', () => {
  it('fills documented defaults and freezes the result', () => {
    const c = parseRecorderConfig(minimal);
    expect(c.clickhouse).toMatchObject({ database: 'gatehouse', user: 'default', migrate: true });
    expect(c.batch).toMatchObject({ maxRows: 20_000, maxDelayMs: 1000 });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8610 });
    expect(c.health).toEqual({ host: '127.0.0.1', port: 9610 });
    expect(c.groupId).toBe('gatehouse-recorder');
    expect(c.retentionDays).toBe(90);
    expect(c.api.allowedGroups).toEqual(['soc']);
    expect(c.api.web).toBeUndefined();
    expect(c.kafka.topics.sessions).toBe('gatehouse.sessions');
    expect(Object.isFrozen(c.batch)).toBe(true);
    expect(c.shutdown).toEqual({ drainTimeoutMs: 25_000, exitTimeoutMs: 30_000 });
    expect(c.api.oidc.clockToleranceSeconds).toBe(30);
    expect(parseRecorderConfig({ ...minimal, logLevel: 'silent' }).logLevel).toBe('silent');
  });

  it('reports every problem at once, with its path', () => {
    const found = issues({
      kafka: { brokers: ['nohost'] },
      clickhouse: { url: 'ftp://x', database: 'bad-name', password: 'inline-secret' },
      batch: { maxRows: 0, retryMinMs: 100, retryMaxMs: 10 },
      retentionDays: -1,
      unknownKey: true,
      api: { oidc: { issuer: 'http://127.0.0.1:9400', audience: 'gatehouse' } },
    });
    const paths = found.map((i) => i.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'kafka.brokers.0',
        'clickhouse.url',
        'clickhouse.database',
        'clickhouse.password',
        'batch.maxRows',
        'retentionDays',
        '(root)',
      ]),
    );
    expect(issues({ ...minimal, batch: { retryMinMs: 100, retryMaxMs: 10 } })).toEqual([
      'batch.retryMinMs: retryMinMs must not exceed retryMaxMs',
    ]);
  });

  it('refuses to start without API identity settings', () => {
    expect(issues({ kafka: minimal.kafka, clickhouse: minimal.clickhouse })).toEqual([
      'api: Invalid input: expected object, received undefined',
    ]);
  });

  it('accepts the password only as a secret reference', () => {
    const c = parseRecorderConfig({
      ...minimal,
      clickhouse: { ...minimal.clickhouse, password: { env: 'CH_PASSWORD' } },
    });
    expect(c.clickhouse.password).toEqual({ env: 'CH_PASSWORD' });
  });

  it('accepts the shipped example configuration', () => {
    const c = loadRecorderConfig(fileURLToPath(new URL('./recorder.example.yaml', import.meta.url)));
    expect(c.kafka.brokers).toHaveLength(3);
    expect(c.batch.maxRows).toBe(20_000);
  });

  it('loads YAML files and names the file in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-recorder-config-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      'kafka:\n  brokers: [127.0.0.1:9092]\nclickhouse:\n  url: http://127.0.0.1:18123\n  database: gatehouse_x\napi:\n  oidc: { issuer: http://127.0.0.1:9400, audience: gatehouse }\n',
    );
    expect(loadRecorderConfig(good).clickhouse.database).toBe('gatehouse_x');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'kafka: [\n');
    expect(() => loadRecorderConfig(bad)).toThrow(/bad\.yaml/);
    expect(() => loadRecorderConfig(join(dir, 'missing.yaml'))).toThrow(ConfigError);
  });
});
