import { describe, expect, it } from 'vitest';
import { httpConnectionSchema, httpListenerSchema } from './config.js';

describe('HTTP proxy config', () => {
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
