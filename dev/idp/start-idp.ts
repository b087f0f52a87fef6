import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { errors, Provider } from 'oidc-provider';
import type { ClientMetadata, IssuedToken, ResourceServerInfo } from 'oidc-provider';
import type { Logger } from '../../services/shared/logger.js';
import { GATEHOUSE_AGENT_CLAIM } from '../../services/shared/identity/identity.js';
import {
  AGENT_CLIENT_ID,
  AGENT_CLIENT_SECRET,
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  DEFAULT_AGENT_GROUPS,
  DEFAULT_AUDIENCE,
  DEV_CLIENT_ID,
  DEV_CLIENT_SECRET,
  DEV_USER_GRANT_TYPE,
  MAX_DEV_TOKEN_TTL_SECONDS,
  DEFAULT_WEB_REDIRECT_URIS,
  WEB_CLIENT_ID,
  CLI_CLIENT_ID,
  DEFAULT_CLI_REDIRECT_URIS,
} from './constants.js';
import { registerDevUserGrant } from './dev-user-grant.js';
import type { DevUserClaims } from './dev-user-grant.js';
import { IdpStartError } from './errors.js';
import { loadOrCreateSigningKeys } from './keys.js';
import { createMemoryAdapterFactory } from './memory-adapter.js';
import { requestToken } from './request-token.js';

export type AgentClient = { clientId: string; clientSecret: string; groups: readonly string[] };

export type StartIdpOptions = {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Listen address, also used in the issuer URL. Default 127.0.0.1. */
  host?: string;
  /** Path under which the provider is mounted, e.g. `/oidc` (default: root). */
  issuerPath?: string;
  /** `aud` of every access token (default `gatehouse`). */
  audience?: string;
  accessTokenTtlSeconds?: number;
  /** Private JWKS file: loaded if present, else generated and saved, so keys survive restarts. */
  jwksFile?: string;
  /** The client allowed to use the dev-user grant. */
  devClient?: { clientId: string; clientSecret: string };
  /** Clients allowed to use client_credentials; their tokens are agent tokens carrying `groups`. */
  agentClients?: readonly AgentClient[];
  /**
   * The web pages' client (authorization code + PKCE, public): `gatehouse-web` with loopback redirect URIs
   * `http://127.0.0.1/auth/callback` and `http://localhost/auth/callback` (any port) unless given. Web login (and the
   * dev login form) is on when this or `users` is given; `false` turns it off.
   */
  webClient?: { clientId?: string; redirectUris?: readonly string[] } | false;
  /**
   * Accounts for the dev login form (any login name and any password are accepted — dev only): the claims their
   * access tokens carry. Login names not listed get no groups and no email.
   */
  users?: Readonly<Record<string, { email?: string; groups?: readonly string[] }>>;
  logger?: Logger;
};

export type IssueTokenOptions = {
  user: string;
  groups?: readonly string[];
  email?: string;
  agent?: boolean;
  ttlSeconds?: number;
};

export type RunningIdp = {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  /** A JWT access token for `user`, obtained over HTTP with the dev-user grant. */
  issueToken(opts: IssueTokenOptions): Promise<string>;
  /** A JWT access token from the client_credentials grant (an agent token; `sub` = client id). */
  issueAgentToken(client?: { clientId: string; clientSecret: string }): Promise<string>;
  stop(): Promise<void>;
};

const STOP_TIMEOUT_MS = 5_000;
const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

function normalizeIssuerPath(path: string | undefined): string {
  if (path === undefined || path === '' || path === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(path)) {
    throw new IdpStartError('issuerPath must look like /segment[/segment…]');
  }
  return path.replace(/\/$/, '');
}

/** An absolute URI to use as the RFC 8707 resource indicator for `audience` (which need not be a URI). */
export function resourceIndicatorFor(audience: string): string {
  const url = URL.parse(audience);
  return url && !audience.includes('#') ? url.href : `urn:gatehouse:audience:${encodeURIComponent(audience)}`;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeAllConnections();
  });
}

/**
 * Starts a local OpenID Provider (oidc-provider) for development and tests. It is a real provider: discovery,
 * JWKS and token endpoints over HTTP, RS256-signed JWT access tokens (`typ: at+jwt`) with
 * `aud` = `audience`, issued through two grants:
 *   - `client_credentials` for agent clients: `sub` = `client_id`, `gatehouse_agent: true`, `groups` from the client;
 *   - `urn:gatehouse:dev-user` (dev only) for named users: `sub` = user, `groups`, `email`, `gatehouse_agent`.
 *   - the authorization-code flow with PKCE (required) for the web client, through oidc-provider's development login
 *     form, which accepts ANY login name and password (dev only): `sub` = login name, claims from `users`;
 *   - for `gatehouse login` (client `gatehouse-cli`): the same flow on a loopback redirect, the device-authorization
 *     grant, and refresh tokens.
 */
export async function startIdp(opts: StartIdpOptions = {}): Promise<RunningIdp> {
  const host = opts.host ?? '127.0.0.1';
  const issuerPath = normalizeIssuerPath(opts.issuerPath);
  const audience = opts.audience ?? DEFAULT_AUDIENCE;
  const ttl = opts.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1)
    throw new IdpStartError('accessTokenTtlSeconds must be a positive integer');
  const devClient = opts.devClient ?? { clientId: DEV_CLIENT_ID, clientSecret: DEV_CLIENT_SECRET };
  const agentClients = opts.agentClients ?? [
    { clientId: AGENT_CLIENT_ID, clientSecret: AGENT_CLIENT_SECRET, groups: DEFAULT_AGENT_GROUPS },
  ];
  const defaultAgent = agentClients[0];
  const jwks = await loadOrCreateSigningKeys(opts.jwksFile);
  // Web login is on when asked for (a web client or login accounts): the dev login form is a dev-only feature.
  const webClient =
    opts.webClient === false || (opts.webClient === undefined && opts.users === undefined)
      ? undefined
      : {
          clientId: opts.webClient?.clientId ?? WEB_CLIENT_ID,
          redirectUris: opts.webClient?.redirectUris ?? DEFAULT_WEB_REDIRECT_URIS,
        };
  const users = opts.users ?? {};
  const userOf = (sub: string) => (Object.hasOwn(users, sub) ? users[sub] : undefined);

  // The issuer names the port, so the server listens first and gets its handler once the provider exists.
  const route: { handle?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server = createServer((req, res) => {
    if (route.handle) route.handle(req, res);
    else res.writeHead(503).end();
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  let address: AddressInfo;
  try {
    address = await listen(server, opts.port ?? 0, host);
  } catch (cause) {
    throw new IdpStartError(`cannot listen on ${host}:${opts.port ?? 0}`, { cause });
  }

  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}${issuerPath}`;
  const resource = {
    indicator: resourceIndicatorFor(audience),
    info: {
      scope: '',
      audience,
      accessTokenFormat: 'jwt',
      accessTokenTTL: ttl,
      jwt: { sign: { alg: 'RS256' } },
    } satisfies ResourceServerInfo,
  };
  const claimsByToken = new WeakMap<object, DevUserClaims>();
  const agentGroups = new Map(agentClients.map((c) => [c.clientId, [...c.groups]]));
  const clients: ClientMetadata[] = [
    {
      client_id: devClient.clientId,
      client_secret: devClient.clientSecret,
      grant_types: [DEV_USER_GRANT_TYPE],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    ...(webClient
      ? [
          {
            client_id: webClient.clientId,
            application_type: 'native' as const,
            grant_types: ['authorization_code'],
            response_types: ['code'],
            redirect_uris: [...webClient.redirectUris],
            token_endpoint_auth_method: 'none',
          },
          {
            client_id: CLI_CLIENT_ID,
            application_type: 'native' as const,
            grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT_TYPE],
            response_types: ['code'],
            redirect_uris: [...DEFAULT_CLI_REDIRECT_URIS],
            token_endpoint_auth_method: 'none',
          },
        ]
      : []),
    ...agentClients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
  ];

  const tokenTtl = (_ctx: unknown, token: IssuedToken) => token.expiresIn ?? ttl;
  const provider = new Provider(issuer, {
    adapter: createMemoryAdapterFactory(),
    clients,
    jwks,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: webClient !== undefined },
      clientCredentials: { enabled: true },
      // `gatehouse login --device`: the device-authorization grant (RFC 8628), confirmed in the dev login form.
      deviceFlow: { enabled: webClient !== undefined },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => Promise.resolve(resource.indicator),
        useGrantedResource: () => Promise.resolve(true),
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== resource.indicator) throw new errors.InvalidTarget();
          return Promise.resolve(resource.info);
        },
      },
    },
    ttl: {
      AccessToken: tokenTtl,
      ClientCredentials: tokenTtl,
      // The web login's artifacts: bounded lifetimes (a login form left open, the IdP session, grants).
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
    extraTokenClaims: (_ctx, token) => {
      if (token.kind === 'ClientCredentials') {
        return Promise.resolve({
          [GATEHOUSE_AGENT_CLAIM]: true,
          groups: agentGroups.get(token.clientId ?? '') ?? [],
        });
      }
      const dev = claimsByToken.get(token);
      if (!dev && token.kind === 'AccessToken' && token.accountId !== undefined) {
        // A login through the web client: the account's configured claims.
        const user = userOf(token.accountId);
        return Promise.resolve({
          [GATEHOUSE_AGENT_CLAIM]: false,
          groups: [...(user?.groups ?? [])],
          ...(user?.email === undefined ? {} : { email: user.email }),
        });
      }
      if (!dev) return Promise.resolve(undefined);
      return Promise.resolve({
        [GATEHOUSE_AGENT_CLAIM]: dev.agent,
        groups: dev.groups,
        ...(dev.email === undefined ? {} : { email: dev.email }),
      });
    },
    pkce: { required: () => true },
    // Refresh tokens for every client allowed the grant (the CLI), without demanding `offline_access` consent.
    issueRefreshToken: (_ctx, client) => Promise.resolve(client.grantTypeAllowed('refresh_token')),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: (_ctx, sub) =>
      Promise.resolve({
        accountId: sub,
        claims: () => {
          const email = userOf(sub)?.email;
          return Promise.resolve(email === undefined ? { sub } : { sub, email, email_verified: true });
        },
      }),
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
      return Promise.resolve();
    },
  });
  registerDevUserGrant(provider, { resource, maxTtlSeconds: MAX_DEV_TOKEN_TTL_SECONDS, claimsByToken });
  const log = opts.logger;
  provider.on('server_error', (_ctx, err) => log?.error({ err }, 'dev IdP server error'));
  provider.on('grant.error', (_ctx, err) => {
    const e = err as { error?: string; error_description?: string; error_detail?: string };
    log?.debug(
      { error: e.error, description: e.error_description, detail: e.error_detail },
      'dev IdP token request refused',
    );
  });

  const callback = provider.callback();
  route.handle = (req, res) => {
    if (issuerPath) {
      const url = req.url ?? '/';
      const rest = url.slice(issuerPath.length);
      if (!url.startsWith(issuerPath) || (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?'))) {
        res.writeHead(404).end();
        return;
      }
      // Mounted like Express does it: oidc-provider derives its mount path from `originalUrl` minus `url`.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
      req.url = rest.startsWith('/') ? rest : `/${rest}`;
    }
    callback(req, res);
  };
  log?.info({ issuer, audience }, 'dev IdP listening');

  return Object.freeze({
    issuer,
    audience,
    jwksUri: `${issuer}/jwks`,
    tokenEndpoint: `${issuer}/token`,
    async issueToken(o: IssueTokenOptions): Promise<string> {
      const res = await requestToken(issuer, {
        user: o.user,
        groups: o.groups,
        email: o.email,
        agent: o.agent ?? false,
        ttlSeconds: o.ttlSeconds,
        clientId: devClient.clientId,
        clientSecret: devClient.clientSecret,
      });
      return res.accessToken;
    },
    async issueAgentToken(client?: { clientId: string; clientSecret: string }): Promise<string> {
      const c = client ?? defaultAgent;
      if (!c) throw new IdpStartError('no agent client is configured');
      const res = await requestToken(issuer, {
        agent: true,
        clientId: c.clientId,
        clientSecret: c.clientSecret,
      });
      return res.accessToken;
    },
    stop: () => close(server),
  });
}
