import { tokenVerifierOptions } from '../../shared/config/sections.js';
import type { OidcConfig } from '../../shared/config/sections.js';
import type { Identity } from '../../shared/identity/index.js';
import { createTokenVerifier } from '../../shared/identity/index.js';
import type { TokenVerifier } from '../../shared/identity/index.js';
import type { ConnectionConfig } from '../config.js';
import { McpUpstream } from './upstream.js';

/** One `protocol: mcp` connection as the listener uses it. */
export type McpConnection = {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly upstream: McpUpstream;
  /** Verifies a token for this connection (its own audience when configured). */
  readonly verify: (token: string) => Promise<Identity>;
};

/**
 * The MCP connections of the configuration, each with its upstream client (gateway credentials resolved now: a
 * missing secret fails the start) and token verifier: the node's when the connection names no audience of its own.
 */
export function mcpConnectionsFromConfig(
  connections: readonly ConnectionConfig[],
  oidc: OidcConfig,
  nodeVerifier: TokenVerifier,
): Map<string, McpConnection> {
  const out = new Map<string, McpConnection>();
  for (const c of connections) {
    if (c.protocol !== 'mcp') continue;
    const verifier =
      c.audience === undefined
        ? nodeVerifier
        : createTokenVerifier({
            ...tokenVerifierOptions(oidc),
            audience: typeof c.audience === 'string' ? c.audience : [...c.audience],
          });
    out.set(c.name, {
      name: c.name,
      tags: c.tags,
      upstream: new McpUpstream(c.upstream.url, c.upstream.auth, c.upstream.timeoutMs),
      verify: (token) => verifier.verify(token),
    });
  }
  return out;
}
