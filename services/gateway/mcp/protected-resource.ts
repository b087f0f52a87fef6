/**
 * Gatehouse as an OAuth 2.1 protected resource (RFC 9728, as MCP's authorization spec requires): each MCP connection
 * is one resource, `<origin>/mcp/<connection>`, whose metadata is served at
 * `<origin>/.well-known/oauth-protected-resource/mcp/<connection>` and named in every 401 challenge. Pure.
 */
import { bearerChallenge as sharedChallenge } from '../../shared/web-login/bearer-auth.js';

export const MCP_PATH_PREFIX = '/mcp/';
export const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

export function resourceUrl(origin: string, connection: string): string {
  return `${origin}${MCP_PATH_PREFIX}${connection}`;
}

export function metadataUrl(origin: string, connection: string): string {
  return `${origin}${METADATA_PREFIX}${MCP_PATH_PREFIX}${connection}`;
}

/** The RFC 9728 metadata document of one connection. */
export function protectedResourceMetadata(
  origin: string,
  connection: string,
  issuer: string,
): Record<string, unknown> {
  return {
    resource: resourceUrl(origin, connection),
    authorization_servers: [issuer],
    bearer_methods_supported: ['header'],
    resource_name: `Gatehouse MCP gateway: ${connection}`,
  };
}

/**
 * The `WWW-Authenticate` value of a 401 (RFC 6750 §3 + RFC 9728 §5.1): without `error` when no token was sent,
 * `error="invalid_token"` with a client-safe description when one was refused.
 */
export function bearerChallenge(origin: string, connection: string, error?: { description: string }): string {
  return sharedChallenge({
    resourceMetadata: metadataUrl(origin, connection),
    invalidToken: error !== undefined,
    ...(error ? { description: error.description } : {}),
  });
}
