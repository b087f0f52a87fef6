import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApprovalConfig, parseApprovalConfig } from './config.js';

const approval = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  oidc: { issuer: 'http://127.0.0.1:1', audience: 'gatehouse' },
};

describe('signing configuration', () => {
  it('the approval service needs a signing key id and a private key reference, never an inline key', () => {
    expect(() => parseApprovalConfig(approval)).toThrow(/signing/);
    expect(() =>
      parseApprovalConfig({ ...approval, signing: { keyId: 'k 1', privateKey: { file: '/k' } } }),
    ).toThrow(/signing\.keyId/);
    expect(() =>
      parseApprovalConfig({
        ...approval,
        signing: { keyId: 'k1', privateKey: '-----BEGIN PRIVATE KEY-----' },
      }),
    ).toThrow(/signing\.privateKey/);
    const ok = parseApprovalConfig({ ...approval, signing: { keyId: 'k1', privateKey: { file: '/k' } } });
    expect(ok.signing).toEqual({ keyId: 'k1', privateKey: { file: '/k' }, trustedKeys: {} });
  });
});

describe('shared sections', () => {
  it("loads the cluster script's approval.yaml unchanged, with the shared defaults", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gh-approval-config-')), 'approval.yaml');
    writeFileSync(
      file,
      [
        'instanceId: local-approval-1',
        'kafka:',
        '  brokers: ["127.0.0.1:19092"]',
        '  ssl: { caFile: /s/ca.pem }',
        '  sasl: { mechanism: scram-sha-512, username: approval, password: { file: /s/approval.pw } }',
        '  topics: { replicationFactor: 3, minInsyncReplicas: 2 }',
        'oidc: { issuer: http://127.0.0.1:19400, audience: gatehouse }',
        'signing: { keyId: local-dev-1, privateKey: { file: /c/approval-signing.key } }',
        'http: { host: 127.0.0.1, port: 18620 }',
        'grpc: { host: 127.0.0.1, port: 18621 }',
        'health: { host: 127.0.0.1, port: 19620 }',
        'publicUrl: http://127.0.0.1:18620',
        'web: {}',
        '',
      ].join('\n'),
    );
    const c = loadApprovalConfig(file);
    expect(c.instanceId).toBe('local-approval-1');
    expect(c.health).toEqual({ host: '127.0.0.1', port: 19620 });
    expect(c.oidc.clockToleranceSeconds).toBe(30);
    expect(c.shutdown).toEqual({ drainTimeoutMs: 10_000, exitTimeoutMs: 30_000 });
    expect(
      parseApprovalConfig({ ...approval, signing: { keyId: 'k1', privateKey: { file: '/k' } } }).health,
    ).toEqual({
      host: '127.0.0.1',
      port: 9620,
    });
  });
});
