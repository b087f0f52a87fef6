/**
 * Names shared by the dev IdP and its clients. The dev-user grant and these default secrets exist ONLY in the local
 * development IdP (`dev/idp`); a real deployment uses the organisation's OpenID Provider.
 */

/** Custom grant type: issues a JWT access token for any user name, groups and email the caller asks for. */
export const DEV_USER_GRANT_TYPE = 'urn:gatehouse:dev-user';

/** Confidential client allowed to use the dev-user grant (client_secret_basic). */
export const DEV_CLIENT_ID = 'gatehouse-dev';
export const DEV_CLIENT_SECRET = 'gatehouse-dev-secret';

/** Confidential client for the client_credentials grant: its tokens are agent tokens (`sub` = client id). */
export const AGENT_CLIENT_ID = 'gatehouse-agent';
export const AGENT_CLIENT_SECRET = 'gatehouse-agent-secret';
export const DEFAULT_AGENT_GROUPS: readonly string[] = ['agents'];

export const DEFAULT_AUDIENCE = 'gatehouse';
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
/** Upper bound on a per-request `ttl` in the dev-user grant. */
export const MAX_DEV_TOKEN_TTL_SECONDS = 24 * 3600;

/**
 * Public client of the web pages (recorder player, approval page): authorization code + PKCE, no secret. A native
 * client, so its loopback redirect URIs match on any port (RFC 8252 §7.3): one registration serves every local port.
 */
export const WEB_CLIENT_ID = 'gatehouse-web';
export const DEFAULT_WEB_REDIRECT_URIS: readonly string[] = [
  'http://127.0.0.1/auth/callback',
  'http://localhost/auth/callback',
];

/**
 * Public client of `gatehouse login` (a native app, RFC 8252): authorization code + PKCE on a loopback redirect (any
 * port), the device-authorization grant, and refresh tokens. Registered whenever web login is on.
 */
export const CLI_CLIENT_ID = 'gatehouse-cli';
export const DEFAULT_CLI_REDIRECT_URIS: readonly string[] = [
  'http://127.0.0.1/callback',
  'http://localhost/callback',
];
