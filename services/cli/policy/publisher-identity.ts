import { createTokenVerifier } from '../../shared/identity/index.js';
import type { Identity } from '../../shared/identity/index.js';
import { PolicyLoadError, PolicyLoadErrorCode } from '../../gateway/index.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { PolicyUsageError } from './policy-cli-env.js';

/** Groups whose members may publish policy, unless $GATEHOUSE_POLICY_PUBLISH_GROUPS says otherwise. */
export const DEFAULT_PUBLISH_GROUPS = ['policy-admins'] as const;

/**
 * The author of a publish: the caller's OIDC access token (`--token` or $GATEHOUSE_TOKEN), verified against
 * $GATEHOUSE_OIDC_ISSUER's keys with audience $GATEHOUSE_OIDC_AUDIENCE (default `gatehouse`), and a member of one
 * of the publish groups. Throws GH_ERR_POLICY_PUBLISH_FORBIDDEN otherwise; nothing is published.
 */
export async function publisherIdentity(io: PolicyCliIo, tokenFlag: string | undefined): Promise<Identity> {
  const token = (tokenFlag ?? io.env.GATEHOUSE_TOKEN ?? '').trim();
  if (token === '') throw new PolicyUsageError('an access token is required: --token or $GATEHOUSE_TOKEN');
  const issuer = io.env.GATEHOUSE_OIDC_ISSUER;
  if (!issuer) throw new PolicyUsageError('$GATEHOUSE_OIDC_ISSUER is not set (load .stack/env, or set it)');
  const groups = (io.env.GATEHOUSE_POLICY_PUBLISH_GROUPS ?? DEFAULT_PUBLISH_GROUPS.join(','))
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  const verifier = createTokenVerifier({ issuer, audience: io.env.GATEHOUSE_OIDC_AUDIENCE ?? 'gatehouse' });
  let identity: Identity;
  try {
    identity = await verifier.verify(token);
  } catch (err) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.publishForbidden,
      `the access token is not valid: ${err instanceof Error ? err.message : 'unknown error'}`,
      { cause: err },
    );
  }
  if (!identity.groups.some((g) => groups.includes(g))) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.publishForbidden,
      `${identity.sub} may not publish policy: not a member of ${groups.join(', ')}`,
    );
  }
  return identity;
}
