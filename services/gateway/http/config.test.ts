import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load-config.js';
import { gatewayConfigSchema } from '../config.js';
import { httpConnectionSchema, httpListenerSchema } from './config.js';

describe('HTTP proxy config', () => {
  it("loads the cluster script's HTTP listener and connection (deploy/cluster/cluster.sh) with their defaults", () => {
    const c = parseConfig(
      gatewayConfigSchema,
      {
        oidc: { issuer: 'http://127.0.0.1:19400', audience: 'gatehouse' },
        kafka: { brokers: ['127.0.0.1:19092'] },
        policy: { bundleDir: '/c/policy' },
        listeners: { http: { host: '127.0.0.1', port: 19487, allowPlaintext: true } },
        connections: [
          {
            name: 'demo-http',
            protocol: 'http',
            upstream: {
              url: 'http://127.0.0.1:12390',
              auth: { type: 'bearer', token: { file: '/s/http-demo-token' } },
            },
            tags: { env: 'demo' },
          },
        ],
      },
      'cluster',
    );
    expect(c.listeners.http).toMatchObject({ port: 19487, maxRequestBodyBytes: 1024 * 1024 });
    expect(c.connections[0]).toMatchObject({ protocol: 'http', upstream: { headersTimeoutMs: 30_000 } });
  });

  it('has bounded defaults and refuses plain HTTP unless allowed', () => {
    const l = httpListenerSchema.parse({ allowPlaintext: true });
    expect(l).toMatchObject({
      maxRequestBodyBytes: 1024 * 1024,
      maxMaskedResponseBytes: 8 * 1024 * 1024,
      recordResponseBytes: 64 * 1024,
      maxHoldMs: 300_000,
      maxSessions: 10_000,
    });
    expect(l.policyHeaders).not.toContain('authorization');
    const bad = httpListenerSchema.safeParse({});
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['tls']);
  });

  it('takes bearer, basic and header credentials as secret references, never inline', () => {
    const base = { name: 'api', protocol: 'http', upstream: { url: 'http://10.0.0.1:8080/v1' } };
    for (const auth of [
      { type: 'bearer', token: { file: '/run/t' } },
      { type: 'basic', user: 'svc', password: { env: 'PW' } },
      { type: 'header', name: 'X-Api-Key', value: { file: '/run/k' } },
    ]) {
      expect(httpConnectionSchema.safeParse({ ...base, upstream: { ...base.upstream, auth } }).success).toBe(
        true,
      );
    }
    const inline = { type: 'bearer', token: 'secret' };
    expect(
      httpConnectionSchema.safeParse({ ...base, upstream: { ...base.upstream, auth: inline } }).success,
    ).toBe(false);
    expect(httpConnectionSchema.safeParse({ ...base, upstream: { url: 'ftp://x' } }).success).toBe(false);
  });
});
