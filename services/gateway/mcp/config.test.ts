import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load-config.js';
import { gatewayConfigSchema } from '../config.js';

const base = {
  oidc: { issuer: 'http://127.0.0.1:19400', audience: 'gatehouse' },
  kafka: { brokers: ['127.0.0.1:19092'] },
  policy: { bundleDir: '/c/policy' },
};

/** What deploy/cluster/cluster.sh adds when the stack runs the demo MCP server. */
const cluster = {
  ...base,
  listeners: { mcp: { host: '127.0.0.1', port: 19486, allowPlaintext: true } },
  connections: [
    {
      name: 'demo-mcp',
      protocol: 'mcp',
      upstream: {
        url: 'http://127.0.0.1:12380/mcp',
        auth: { type: 'bearer', token: { file: '/s/mcp-demo-token' } },
      },
      tags: { env: 'demo' },
    },
  ],
};

describe('MCP config', () => {
  it("loads the cluster script's MCP listener and connection with their defaults", () => {
    const c = parseConfig(gatewayConfigSchema, cluster, 'cluster');
    expect(c.listeners.mcp).toMatchObject({ port: 19486, maxBodyBytes: 1024 * 1024, idleTimeoutMs: 300_000 });
    expect(c.connections[0]).toMatchObject({ protocol: 'mcp', upstream: { timeoutMs: 30_000 } });
  });

  it('refuses plain HTTP without allowPlaintext, inline credentials and non-http upstreams, all at once', () => {
    expect(() =>
      parseConfig(
        gatewayConfigSchema,
        {
          ...base,
          listeners: { mcp: { port: 1 } },
          connections: [
            {
              name: 'm',
              protocol: 'mcp',
              upstream: { url: 'ftp://x/mcp', auth: { type: 'bearer', token: 'tok' } },
            },
          ],
        },
        'bad',
      ),
    ).toThrow(
      /listeners\.mcp\.tls[\s\S]*connections\.0\.upstream\.url[\s\S]*connections\.0\.upstream\.auth\.token/,
    );
  });
});
