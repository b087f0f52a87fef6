import { errors } from 'oidc-provider';
import type { KoaContextWithOIDC, Provider, ResourceServerInfo } from 'oidc-provider';
import { DEV_USER_GRANT_TYPE } from './constants.js';

/** Claims the dev-user grant puts into the access token next to `sub` (added by `extraTokenClaims`). */
export type DevUserClaims = {
  groups: string[];
  email: string | undefined;
  agent: boolean;
};

export type DevUserRequest = DevUserClaims & { user: string; ttlSeconds: number | undefined };

export type DevUserParams = Readonly<Record<string, string | string[] | undefined>>;

const USER = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;
const MAX_GROUPS = 64;

/** The parameters the dev-user grant accepts at the token endpoint; `groups` may repeat, one group per value. */
export const DEV_USER_PARAMS = ['user', 'groups', 'email', 'agent', 'ttl'] as const;

function single(params: DevUserParams, name: string): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) throw new errors.InvalidRequest(`${name} must not be provided twice`);
  return value === '' ? undefined : value;
}

/** Validates the dev-user grant's parameters (pure). Throws oidc-provider's `invalid_request`. */
export function parseDevUserParams(params: DevUserParams, maxTtlSeconds: number): DevUserRequest {
  const user = single(params, 'user');
  if (user === undefined || !USER.test(user)) {
    throw new errors.InvalidRequest('user is required: 1-128 of A-Z a-z 0-9 . _ @ + -');
  }
  const rawGroups = params['groups'];
  const groups = rawGroups === undefined ? [] : Array.isArray(rawGroups) ? rawGroups : [rawGroups];
  if (groups.length > MAX_GROUPS) throw new errors.InvalidRequest(`at most ${MAX_GROUPS} groups`);
  for (const group of groups) {
    if (!GROUP.test(group)) throw new errors.InvalidRequest('each group: 1-128 of A-Z a-z 0-9 . _ : @ / + -');
  }
  const email = single(params, 'email');
  if (email !== undefined && !EMAIL.test(email)) throw new errors.InvalidRequest('email is malformed');
  const agent = single(params, 'agent');
  if (agent !== undefined && agent !== 'true' && agent !== 'false') {
    throw new errors.InvalidRequest('agent must be true or false');
  }
  const ttl = single(params, 'ttl');
  let ttlSeconds: number | undefined;
  if (ttl !== undefined) {
    ttlSeconds = Number(ttl);
    if (!/^\d{1,9}$/.test(ttl) || ttlSeconds < 1 || ttlSeconds > maxTtlSeconds) {
      throw new errors.InvalidRequest(`ttl must be an integer between 1 and ${maxTtlSeconds} seconds`);
    }
  }
  return { user, groups: [...new Set(groups)], email, agent: agent === 'true', ttlSeconds };
}

export type DevUserGrantOptions = {
  /** The resource indicator every token is issued for, and its resource server description. */
  resource: { indicator: string; info: ResourceServerInfo };
  maxTtlSeconds: number;
  /** Where the handler leaves the claims for `extraTokenClaims` to pick up, keyed by the token being issued. */
  claimsByToken: WeakMap<object, DevUserClaims>;
};

/**
 * Registers `urn:gatehouse:dev-user` at the token endpoint: an authenticated client (only those whose
 * `grant_types` list it) names a user and gets a JWT access token with `sub` = user. DEV ONLY: it trusts the client
 * completely and exists solely in the local dev IdP, standing in for an interactive login.
 */
export function registerDevUserGrant(provider: Provider, opts: DevUserGrantOptions): void {
  async function handler(ctx: KoaContextWithOIDC): Promise<void> {
    const { client } = ctx.oidc;
    if (!client) throw new errors.InvalidRequest('client authentication is required');
    const request = parseDevUserParams(ctx.oidc.params, opts.maxTtlSeconds);
    const token = new provider.AccessToken({
      accountId: request.user,
      client,
      gty: DEV_USER_GRANT_TYPE,
      ...(request.ttlSeconds === undefined ? {} : { expiresIn: request.ttlSeconds }),
    });
    token.resourceServer = new provider.ResourceServer(opts.resource.indicator, opts.resource.info);
    opts.claimsByToken.set(token, { groups: request.groups, email: request.email, agent: request.agent });
    ctx.oidc.entity('AccessToken', token);
    const value = await token.save();
    ctx.body = { access_token: value, expires_in: token.expiration, token_type: token.tokenType };
  }
  provider.registerGrantType(DEV_USER_GRANT_TYPE, handler, [...DEV_USER_PARAMS], ['groups']);
}
