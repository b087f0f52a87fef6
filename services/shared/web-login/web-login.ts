import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { z } from 'zod';
import { resolveSecret } from '../config/secrets.js';
import { secretRefSchema } from '../config/secrets.js';
import type { Identity } from '../identity/index.js';
import type { Logger } from '../logger.js';
import { WebAuthError, WebAuthErrorCode } from './errors.js';
import { WebSessionStore } from './session-store.js';

/**
 * Web login settings (the OIDC authorization-code flow with PKCE). The redirect URI is `<publicUrl>/auth/callback`;
 * register it (and the client) at the identity provider. Defaults are documented here and in the service READMEs.
 */
export const webLoginSchema = z.strictObject({
  /** The OIDC client of the web pages (a public client: PKCE, no secret, unless `clientSecret` is set). */
  clientId: z.string().min(1).default('gatehouse-web'),
  /** Only for a confidential client: `{env: NAME}` or `{file: PATH}`. */
  clientSecret: secretRefSchema.optional(),
  /** Where browsers reach this service (the redirect URI is derived from it). Default: the HTTP listener. */
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Scopes asked for at login. */
  scope: z.string().min(1).default('openid email profile'),
  /** Key that signs session cookies (HMAC); a fresh random key per process when absent (sessions end at restart). */
  cookieKey: secretRefSchema.optional(),
  /**
   * Lifetime of a web session; a new login is needed after it. Not tied to the access token's expiry (the token is
   * only used once, at login). Sessions live in this process's memory: several instances need sticky routing.
   */
  sessionTtlSeconds: z
    .number()
    .int()
    .min(60)
    .max(86_400)
    .default(8 * 3600),
  /** Web sessions held at once (the oldest is dropped first). */
  maxSessions: z.number().int().min(1).default(10_000),
  /** Logins started but not completed, held at once (each for 10 minutes at most). */
  maxPendingLogins: z.number().int().min(1).default(1_000),
});

export type WebLoginConfig = z.output<typeof webLoginSchema>;

export const SESSION_COOKIE = 'gh_session';
const LOGIN_COOKIE = 'gh_login';
const PENDING_TTL_MS = 10 * 60_000;

type PendingLogin = { verifier: string; nonce: string; returnTo: string; expiresAt: number };

export type WebLoginOptions = {
  config: Readonly<WebLoginConfig>;
  issuer: string;
  /** Verifies the access token the login returns (the same verifier as for bearer tokens: issuer, audience, keys). */
  verify: (token: string) => Promise<Identity>;
  /** The service's own base URL when `config.publicUrl` is not set (known once it listens). */
  publicUrl: () => string;
  log: Logger;
  /** Whether the cookie gets `Secure` (default: when the public URL is https). */
  secureCookie?: boolean;
};

export type WebLogin = {
  /** The identity of the request's web session, if it has a live one. */
  identity(request: FastifyRequest): Identity | undefined;
  /** The URL that starts a login and comes back to `returnTo` (a path on this service). */
  loginUrl(returnTo: string): string;
};

/** Reads one cookie from a Cookie header (no library needed for reading one name). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function cookie(name: string, value: string, maxAgeSeconds: number, path: string, secure: boolean): string {
  return `${name}=${value}; Path=${path}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Only same-service paths are valid return targets (no open redirect). */
function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\x21-\x7e]{0,1023}$/.test(value) ? value : '/';
}

/**
 * Registers `/auth/login`, `/auth/callback`, `/auth/me` and `/auth/logout` (POST) on a fastify app: the OIDC authorization-code flow
 * with PKCE (S256), state and nonce, through `openid-client`. On success the access token is verified like a bearer
 * token and a server-side session is created; the browser gets only an HttpOnly, SameSite=Strict cookie with the
 * session id and its HMAC. Tokens are never stored in the browser or logged.
 *
 * The pending login (verifier, nonce) is kept server-side under the `state`, which also travels in a short-lived
 * SameSite=Lax cookie (the IdP's redirect back is a cross-site top-level navigation, so a Strict cookie would not be
 * sent) and must match.
 */
export function registerWebLogin(app: FastifyInstance, opts: WebLoginOptions): WebLogin {
  const { config, log } = opts;
  const key = config.cookieKey ? Buffer.from(resolveSecret(config.cookieKey)) : randomBytes(32);
  const sessions = new WebSessionStore({
    key,
    ttlMs: config.sessionTtlSeconds * 1000,
    maxSessions: config.maxSessions,
  });
  const pending = new Map<string, PendingLogin>();
  const base = () => (config.publicUrl ?? opts.publicUrl()).replace(/\/+$/, '');
  const secure = () => opts.secureCookie ?? base().startsWith('https:');
  const redirectUri = () => `${base()}/auth/callback`;

  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = (): Promise<oidc.Configuration> => {
    discovered ??= oidc
      .discovery(
        new URL(opts.issuer),
        config.clientId,
        undefined,
        config.clientSecret ? oidc.ClientSecretBasic(resolveSecret(config.clientSecret)) : oidc.None(),
        {
          timeout: 5,
          ...(opts.issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {}),
        },
      )
      .catch((err: unknown) => {
        discovered = undefined;
        throw new WebAuthError(WebAuthErrorCode.idpUnavailable, 503, 'the identity provider is unavailable', {
          cause: err,
        });
      });
    return discovered;
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const [state, p] of pending) if (p.expiresAt <= now) pending.delete(state);
  };

  const fail = (reply: FastifyReply, err: WebAuthError): FastifyReply =>
    reply
      .code(err.status)
      .header('cache-control', 'no-store')
      .type('application/json')
      .send({ error: { code: err.code, message: err.message } });

  app.get('/auth/login', async (request, reply) => {
    const returnTo = safeReturnTo((request.query as Record<string, unknown>).return_to);
    let cfg: oidc.Configuration;
    try {
      cfg = await configuration();
    } catch (err) {
      return fail(reply, err as WebAuthError);
    }
    sweep();
    if (pending.size >= config.maxPendingLogins) {
      return fail(
        reply,
        new WebAuthError(WebAuthErrorCode.idpUnavailable, 503, 'too many logins in progress; try again'),
      );
    }
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    pending.set(state, { verifier, nonce, returnTo, expiresAt: Date.now() + PENDING_TTL_MS });
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: redirectUri(),
      scope: config.scope,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return reply
      .header(
        'set-cookie',
        `${LOGIN_COOKIE}=${state}; Path=/auth/callback; Max-Age=600; HttpOnly; SameSite=Lax${secure() ? '; Secure' : ''}`,
      )
      .header('cache-control', 'no-store')
      .redirect(url.href, 302);
  });

  app.get('/auth/callback', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const state = typeof query.state === 'string' ? query.state : '';
    const p = pending.get(state);
    pending.delete(state);
    const clearLogin = `${LOGIN_COOKIE}=; Path=/auth/callback; Max-Age=0; HttpOnly; SameSite=Lax`;
    if (!p || p.expiresAt <= Date.now() || readCookie(request.headers.cookie, LOGIN_COOKIE) !== state) {
      void reply.header('set-cookie', clearLogin);
      return fail(
        reply,
        new WebAuthError(WebAuthErrorCode.loginFailed, 400, 'this login is unknown or expired; start again'),
      );
    }
    let identity: Identity;
    try {
      const cfg = await configuration();
      const current = new URL(request.url, base());
      const tokens = await oidc.authorizationCodeGrant(cfg, current, {
        pkceCodeVerifier: p.verifier,
        expectedState: state,
        expectedNonce: p.nonce,
        idTokenExpected: true,
      });
      identity = await opts.verify(tokens.access_token);
    } catch (err) {
      log.info({ code: (err as { code?: string }).code, err: (err as Error).name }, 'web login failed');
      void reply.header('set-cookie', clearLogin);
      return fail(
        reply,
        err instanceof WebAuthError
          ? err
          : new WebAuthError(
              WebAuthErrorCode.loginFailed,
              400,
              'the login could not be completed; start again',
            ),
      );
    }
    const session = sessions.create(identity);
    log.info({ sub: identity.sub }, 'web login');
    return reply
      .header('set-cookie', [
        clearLogin,
        cookie(SESSION_COOKIE, session.cookie, config.sessionTtlSeconds, '/', secure()),
      ])
      .header('cache-control', 'no-store')
      .redirect(p.returnTo, 303);
  });

  app.get('/auth/me', (request, reply) => {
    const s = sessions.lookup(readCookie(request.headers.cookie, SESSION_COOKIE));
    void reply.header('cache-control', 'no-store');
    if (!s) {
      return fail(reply, new WebAuthError(WebAuthErrorCode.unauthenticated, 401, 'not logged in'));
    }
    const { sub, email, groups, agent } = s.identity;
    return reply.send({ sub, email, groups, agent, expiresAt: new Date(s.expiresAt).toISOString() });
  });

  app.post('/auth/logout', (request, reply) => {
    sessions.destroy(readCookie(request.headers.cookie, SESSION_COOKIE));
    return reply
      .header('set-cookie', cookie(SESSION_COOKIE, '', 0, '/', secure()))
      .header('cache-control', 'no-store')
      .redirect('/', 303);
  });

  return {
    identity: (request) => sessions.lookup(readCookie(request.headers.cookie, SESSION_COOKIE))?.identity,
    loginUrl: (returnTo) => `/auth/login?return_to=${encodeURIComponent(safeReturnTo(returnTo))}`,
  };
}
