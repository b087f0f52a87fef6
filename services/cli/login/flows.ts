import * as oidc from 'openid-client';
import type { CachedToken } from './token-cache.js';
import { LoginError } from './errors.js';
import { startLoopbackRedirect } from './loopback-redirect.js';
import { describe, discoverClient, toCached } from './provider.js';
import type { ClientSettings } from './provider.js';

export type LoginRequest = ClientSettings & {
  scope: string;
  /** RFC 8707 resource indicator (the gateway's audience), when the provider needs one. */
  resource?: string;
  timeoutMs: number;
};

/** Where a flow tells the user what to do (a URL to open, a code to type): stderr, never stdout. */
export type Prompt = { show(text: string): void; open(url: string): void };

function resourceParam(req: LoginRequest): Record<string, string> {
  return req.resource === undefined ? {} : { resource: req.resource };
}

/**
 * The authorization-code flow with PKCE (S256) and state on a loopback redirect (RFC 8252): the user logs in in
 * a browser, the provider redirects to 127.0.0.1, the code is exchanged here. For people.
 */
export async function authorizationCodeLogin(req: LoginRequest, prompt: Prompt): Promise<CachedToken> {
  const config = await discoverClient(req);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const redirect = await startLoopbackRedirect(state, req.timeoutMs);
  try {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirect.redirectUri,
      scope: req.scope,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...resourceParam(req),
    });
    prompt.show(`Log in at:\n\n  ${url.href}\n`);
    prompt.open(url.href);
    const current = await redirect.callback;
    const res = await oidc
      .authorizationCodeGrant(
        config,
        current,
        { pkceCodeVerifier: verifier, expectedState: state },
        resourceParam(req),
      )
      .catch((err: unknown) => {
        throw new LoginError(`the provider refused the login: ${describe(err)}`, { cause: err });
      });
    return toCached(req, 'authorization_code', res, { scope: req.scope, resource: req.resource });
  } finally {
    await redirect.close();
  }
}

/**
 * The device-authorization grant (RFC 8628): prints a URL and a code to confirm on any device, then polls. For
 * people on machines without a browser (a jump host, a container).
 */
export async function deviceLogin(req: LoginRequest, prompt: Prompt): Promise<CachedToken> {
  const config = await discoverClient(req);
  if (!config.serverMetadata().device_authorization_endpoint) {
    throw new LoginError(
      `${req.issuer} does not offer the device-authorization grant; log in without --device`,
    );
  }
  const started = await oidc
    .initiateDeviceAuthorization(config, { scope: req.scope, ...resourceParam(req) })
    .catch((err: unknown) => {
      throw new LoginError(`the provider refused the device login: ${describe(err)}`, { cause: err });
    });
  const complete = started.verification_uri_complete;
  prompt.show(
    `To log in, open ${started.verification_uri} and enter the code ${started.user_code}` +
      (complete ? `\n(or open ${complete})` : '') +
      '\n',
  );
  const signal = AbortSignal.timeout(Math.min(req.timeoutMs, started.expires_in * 1000));
  const res = await oidc
    .pollDeviceAuthorizationGrant(config, started, resourceParam(req), { signal })
    .catch((err: unknown) => {
      if (signal.aborted) throw new LoginError('the device login was not confirmed in time', { cause: err });
      throw new LoginError(`the device login failed: ${describe(err)}`, { cause: err });
    });
  return toCached(req, 'device_code', res, { scope: req.scope, resource: req.resource });
}

/** The client-credentials grant: a machine identity (an agent) with its own secret. */
export async function clientCredentialsLogin(
  req: LoginRequest & { clientSecret: string; clientSecretFile?: string },
): Promise<CachedToken> {
  const config = await discoverClient(req);
  const res = await oidc
    .clientCredentialsGrant(config, { ...(req.scope ? { scope: req.scope } : {}), ...resourceParam(req) })
    .catch((err: unknown) => {
      throw new LoginError(`the provider refused the client credentials: ${describe(err)}`, { cause: err });
    });
  return toCached(req, 'client_credentials', res, {
    scope: req.scope,
    resource: req.resource,
    clientSecretFile: req.clientSecretFile,
  });
}

/** A new access token from the cached refresh token; the provider may rotate the refresh token. */
export async function refreshLogin(cached: CachedToken & { refreshToken: string }): Promise<CachedToken> {
  const settings = { issuer: cached.issuer, clientId: cached.clientId };
  const config = await discoverClient(settings);
  const res = await oidc
    .refreshTokenGrant(
      config,
      cached.refreshToken,
      cached.resource === undefined ? {} : { resource: cached.resource },
    )
    .catch((err: unknown) => {
      throw new LoginError(`the provider refused the refresh token: ${describe(err)}`, { cause: err });
    });
  return toCached(settings, cached.grant, res, {
    scope: cached.scope,
    resource: cached.resource,
    refreshToken: cached.refreshToken,
  });
}
