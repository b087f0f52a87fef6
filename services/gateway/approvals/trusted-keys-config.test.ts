import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load-config.js';
import { gatewayConfigSchema } from '../config.js';

const gateway = (approvals: Record<string, unknown>) => ({
  listeners: {},
  oidc: { issuer: 'http://127.0.0.1:1', audience: 'gatehouse' },
  kafka: { brokers: ['127.0.0.1:9092'] },
  policy: { bundleDir: '/x' },
  approvals: { url: 'http://127.0.0.1:2', ...approvals },
  connections: [
    {
      name: 'pg',
      protocol: 'postgres',
      upstream: { host: 'h', port: 5432, database: 'd', user: 'u', password: { file: '/p' } },
    },
  ],
});

describe('approvals.trustedKeys', () => {
  it('a gateway with approvals must pin at least one public key', () => {
    expect(() => parseConfig(gatewayConfigSchema, gateway({}), 'gw')).toThrow(/approvals\.trustedKeys/);
    expect(() => parseConfig(gatewayConfigSchema, gateway({ trustedKeys: {} }), 'gw')).toThrow(
      /pin at least one/,
    );
    const cfg = parseConfig(gatewayConfigSchema, gateway({ trustedKeys: { k1: { file: '/k.pub' } } }), 'gw');
    expect(cfg.approvals?.trustedKeys).toEqual({ k1: { file: '/k.pub' } });
  });
});
