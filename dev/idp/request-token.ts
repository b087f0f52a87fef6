import { discoverProvider } from '../../services/shared/identity/discovery.js';
import { fetchJson } from '../../services/shared/identity/fetch-json.js';
import {
  AGENT_CLIENT_ID,
  AGENT_CLIENT_SECRET,
  DEV_CLIENT_ID,
  DEV_CLIENT_SECRET,
  DEV_USER_GRANT_TYPE,
} from './constants.js';
import { IdpTokenRequestError, IdpUsageError } from './errors.js';

export type TokenRequestOptions = {
  /** A named user: uses the dev-user grant (dev IdP only). Without it: client_credentials (an agent token). */
  user?: string;
  groups?: readonly string[];
  email?: string;
  /** Marks a dev-user token as an agent's. A request without `user` is always an agent request. */
  agent?: boolean;
  ttlSeconds?: number;
  /** Defaults: `gatehouse-dev` for the dev-user grant, `gatehouse-agent` for client_credentials. */
  clientId?: string;
  clientSecret?: string;
  /** Timeout of each HTTP request (discovery, token). Default 10 s. */
  timeoutMs?: number;
};

export type TokenResponse = {
  accessToken: string;
  tokenType: string;
  /** Seconds, when the server said. */
  expiresIn: number | undefined;
};

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded. */
function basicAuth(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

function buildForm(opts: TokenRequestOptions): {
  form: URLSearchParams;
  clientId: string;
  clientSecret: string;
} {
  const form = new URLSearchParams();
  if (opts.user === undefined) {
    if (opts.agent === false) throw new IdpUsageError('a human token needs a user name (--user)');
    if (opts.groups?.length || opts.email !== undefined || opts.ttlSeconds !== undefined) {
      throw new IdpUsageError(
        'groups, email and ttl need a user (--user); client_credentials tokens take them from the client',
      );
    }
    form.set('grant_type', 'client_credentials');
    return {
      form,
      clientId: opts.clientId ?? AGENT_CLIENT_ID,
      clientSecret: opts.clientSecret ?? AGENT_CLIENT_SECRET,
    };
  }
  form.set('grant_type', DEV_USER_GRANT_TYPE);
  form.set('user', opts.user);
  for (const group of opts.groups ?? []) form.append('groups', group);
  if (opts.email !== undefined) form.set('email', opts.email);
  form.set('agent', opts.agent ? 'true' : 'false');
  if (opts.ttlSeconds !== undefined) form.set('ttl', String(opts.ttlSeconds));
  return {
    form,
    clientId: opts.clientId ?? DEV_CLIENT_ID,
    clientSecret: opts.clientSecret ?? DEV_CLIENT_SECRET,
  };
}

function oauthError(body: unknown): { error?: string; description?: string } {
  if (body === null || typeof body !== 'object') return {};
  const { error, error_description: description } = body as Record<string, unknown>;
  return {
    ...(typeof error === 'string' ? { error: error.slice(0, 100) } : {}),
    ...(typeof description === 'string' ? { description: description.slice(0, 300) } : {}),
  };
}

/**
 * Gets an access token from a running IdP over HTTP: discovers its token endpoint, then POSTs a real OAuth token
 * request with client_secret_basic. With `user`, the dev-user grant (`urn:gatehouse:dev-user`, which only the
 * Gatehouse dev IdP has); without, client_credentials. Errors never include the secret or a token.
 */
export async function requestToken(
  issuerUrl: string,
  opts: TokenRequestOptions = {},
): Promise<TokenResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { form, clientId, clientSecret } = buildForm(opts);
  let tokenEndpoint: string | undefined;
  try {
    tokenEndpoint = (await discoverProvider(issuerUrl, timeoutMs)).token_endpoint;
  } catch (cause) {
    throw new IdpTokenRequestError(`cannot discover the identity provider at ${issuerUrl}`, undefined, {
      cause,
    });
  }
  if (!tokenEndpoint)
    throw new IdpTokenRequestError(`identity provider at ${issuerUrl} has no token endpoint`);
  let result;
  try {
    result = await fetchJson(tokenEndpoint, {
      timeoutMs,
      maxBytes: MAX_TOKEN_RESPONSE_BYTES,
      init: {
        method: 'POST',
        headers: {
          authorization: basicAuth(clientId, clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
      },
    });
  } catch (cause) {
    throw new IdpTokenRequestError(`token request to ${tokenEndpoint} failed`, undefined, { cause });
  }
  if (result.status !== 200) {
    const { error, description } = oauthError(result.body);
    const detail = error ? `: ${error}${description ? ` (${description})` : ''}` : '';
    throw new IdpTokenRequestError(`token request refused with HTTP ${result.status}${detail}`, error);
  }
  const body = (result.body ?? {}) as Record<string, unknown>;
  const accessToken = body['access_token'];
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new IdpTokenRequestError('token response has no access_token');
  }
  const expiresIn = body['expires_in'];
  return {
    accessToken,
    tokenType: typeof body['token_type'] === 'string' ? body['token_type'] : 'Bearer',
    expiresIn: typeof expiresIn === 'number' ? expiresIn : undefined,
  };
}
