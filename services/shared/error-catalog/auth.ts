import type { FamilyEntries } from './entry.js';

const PG_SSH_HTTP_401 = 'PostgreSQL `FATAL 28P01`; SSH: authentication fails; HTTP 401';

/** Identity: a token, login or reviewer was refused, or the identity provider cannot be asked. */
export const authErrors = {
  GH_ERR_TOKEN_INVALID: {
    meaning: 'the access token is malformed, not signed by the issuer, or lacks a required claim',
    client: PG_SSH_HTTP_401,
  },
  GH_ERR_TOKEN_EXPIRED: { meaning: 'the access token is expired or not yet valid', client: PG_SSH_HTTP_401 },
  GH_ERR_TOKEN_AUDIENCE: {
    meaning: 'the access token was issued for another audience',
    client: PG_SSH_HTTP_401,
  },
  GH_ERR_JWKS_UNAVAILABLE: {
    meaning: "the identity provider's discovery document or keys cannot be fetched: no token is accepted",
    client: 'PostgreSQL `FATAL 28P01`; SSH: authentication fails; HTTP 503',
  },
  GH_ERR_IDENTITY_FETCH: {
    meaning: 'fetching identity-provider metadata, keys or a token failed (timeout, status, size, not JSON)',
    client: '— (logged as the cause of `GH_ERR_JWKS_UNAVAILABLE`)',
  },
  GH_ERR_UNAUTHENTICATED: {
    meaning: 'an HTTP request has no valid bearer token or login session',
    client: 'HTTP 401 with `WWW-Authenticate: Bearer`',
  },
  GH_ERR_FORBIDDEN: {
    meaning: 'the caller is authenticated but not in an allowed group',
    client: 'HTTP 403',
  },
  GH_ERR_IDP_UNAVAILABLE: {
    meaning: 'the identity provider cannot be reached, or too many web logins are in progress',
    client: 'HTTP 503',
  },
  GH_ERR_WEB_LOGIN_FAILED: {
    meaning: 'the OIDC login redirect came back wrong (state, PKCE, code) or the provider refused it',
    client: 'HTTP 400',
  },
  GH_ERR_PG_AUTH: {
    meaning: 'the token a PostgreSQL client sent as its password was refused',
    client: 'PostgreSQL `FATAL 28P01 token authentication failed: …`',
  },
  GH_ERR_PG_NO_TOKEN: {
    meaning: 'a PostgreSQL client sent no token as its password',
    client: 'PostgreSQL `FATAL 28P01`',
  },
  GH_ERR_PG_TLS_REQUIRED: {
    meaning: 'a PostgreSQL client connected without TLS and plaintext is not allowed',
    client: 'PostgreSQL `FATAL 28000 gatehouse requires TLS`',
  },
  GH_ERR_PG_LOGIN: {
    meaning: 'a PostgreSQL login ended without a Gatehouse error (the client left during login)',
    client: '— (the connection is closed)',
  },
  GH_ERR_SSH_TOKEN: {
    meaning: 'the token an SSH client sent was refused',
    client: 'SSH: authentication fails with `gatehouse: access token rejected: …`',
  },
  GH_ERR_APPROVAL_UNAUTHENTICATED: {
    meaning: 'an approval API call has no valid token',
    client: 'HTTP 401 with `WWW-Authenticate: Bearer`; gRPC UNAUTHENTICATED',
  },
  GH_ERR_APPROVAL_FORBIDDEN: {
    meaning: 'the reviewer is not an approver of this request, is an agent, or may not see it',
    client: 'HTTP 403; gRPC PERMISSION_DENIED',
  },
  GH_ERR_APPROVAL_SELF: {
    meaning: 'a reviewer tried to decide their own request',
    client: 'HTTP 403; gRPC PERMISSION_DENIED',
  },
  GH_ERR_LOGIN: {
    meaning:
      '`gatehouse login` could not obtain a token (provider unreachable or refusing, login denied or timed out)',
    client: 'CLI: the message on stderr, exit 1',
  },
  GH_ERR_NOT_LOGGED_IN: {
    meaning: 'no usable cached token for the issuer and it cannot be renewed: run `gatehouse login`',
    client: 'CLI: the message on stderr, exit 1',
  },
} as const satisfies FamilyEntries;
