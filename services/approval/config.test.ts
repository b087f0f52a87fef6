import { describe, expect, it } from 'vitest';
import { parseApprovalConfig } from './config.js';

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
