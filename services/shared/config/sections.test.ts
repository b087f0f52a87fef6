import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from './load-config.js';
import {
  healthSchema,
  logLevelSchema,
  nodeIdSchema,
  oidcSchema,
  shutdownSchema,
  tokenVerifierOptions,
} from './sections.js';

const service = z.strictObject({
  nodeId: nodeIdSchema,
  logLevel: logLevelSchema,
  health: healthSchema(9000),
  oidc: oidcSchema,
  shutdown: shutdownSchema(10_000),
});
const oidc = { issuer: 'https://idp.example.test', audience: 'gatehouse' };

describe('shared config sections', () => {
  it('hold the defaults every service shares', () => {
    const c = parseConfig(service, { oidc }, 'test');
    expect(c.nodeId).toBe(`${hostname()}-${process.pid}`);
    expect(c.logLevel).toBe('info');
    expect(c.health).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(c.oidc).toEqual({
      ...oidc,
      agentClaim: 'gatehouse_agent',
      groupsClaim: 'groups',
      clockToleranceSeconds: 30,
    });
    expect(c.shutdown).toEqual({ drainTimeoutMs: 10_000, exitTimeoutMs: 30_000 });
  });

  it('accept every pino level, silent included', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      expect(parseConfig(service, { oidc, logLevel: level }, 'test').logLevel).toBe(level);
    }
  });

  it('report every problem with its path', () => {
    const r = service.safeParse({
      nodeId: '',
      logLevel: 'loud',
      health: { port: 70_000 },
      oidc: { issuer: 'ftp://idp', audience: '', clockToleranceSeconds: 301 },
      shutdown: { drainTimeoutMs: 40_000 },
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual([
      'health.port',
      'logLevel',
      'nodeId',
      'oidc.audience',
      'oidc.clockToleranceSeconds',
      'oidc.issuer',
      'shutdown.drainTimeoutMs',
    ]);
  });

  it('map the oidc section onto the token verifier options', () => {
    const c = parseConfig(service, { oidc: { ...oidc, jwksUri: 'https://idp.example.test/jwks' } }, 'test');
    expect(tokenVerifierOptions(c.oidc)).toEqual({
      issuer: oidc.issuer,
      audience: 'gatehouse',
      jwksUri: 'https://idp.example.test/jwks',
      agentClaim: 'gatehouse_agent',
      groupsClaim: 'groups',
      clockToleranceSeconds: 30,
    });
    expect(tokenVerifierOptions(parseConfig(service, { oidc }, 'test').oidc)).not.toHaveProperty('jwksUri');
  });
});
