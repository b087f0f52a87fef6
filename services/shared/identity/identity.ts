import type { JWTPayload } from 'jose';
import { TokenError, TokenErrorCode } from './errors.js';

/** The claim the Gatehouse dev IdP sets to `true` on agent tokens (and the default `agentClaim`). */
export const GATEHOUSE_AGENT_CLAIM = 'gatehouse_agent';

/** Bounds on what a token may claim; larger values are rejected rather than truncated. */
export const MAX_GROUPS = 256;
export const MAX_CLAIM_STRING_LENGTH = 1024;

/**
 * Who is calling, as the gateway and policy see it (`input.identity`).
 * `email` and `client_id` are `''` when the token does not carry them (as in the protobuf event and for Rego).
 */
export type Identity = {
  readonly sub: string;
  readonly email: string;
  readonly groups: readonly string[];
  readonly agent: boolean;
  readonly issuer: string;
  readonly client_id: string;
};

export type ClaimMapping = {
  /** Claim whose value `true` (or the string "true") marks an agent. */
  agentClaim: string;
  /** Claim holding the caller's groups: an array of strings, or one string for a single group. */
  groupsClaim: string;
};

/** Grant-type hints that mean "no end-user took part": the token was issued to a machine. */
const MACHINE_GRANT_TYPES = new Set([
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:client_credentials',
]);

function invalid(message: string): TokenError {
  return new TokenError(TokenErrorCode.invalid, message);
}

function optionalString(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || value.length > MAX_CLAIM_STRING_LENGTH) {
    throw invalid(`token claim "${claim}" is malformed`);
  }
  return value;
}

function readGroups(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value) || value.length > MAX_GROUPS)
    throw invalid(`token claim "${claim}" is malformed`);
  const groups: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string' || item.length > MAX_CLAIM_STRING_LENGTH) {
      throw invalid(`token claim "${claim}" is malformed`);
    }
    if (item !== '' && !groups.includes(item)) groups.push(item);
  }
  return groups;
}

/**
 * A token is an agent's when ANY of these holds (documented rule; a machine is never mistaken for a person):
 *   1. the `agentClaim` claim is `true` (boolean) or the string `"true"`;
 *   2. a grant-type hint (`gty` as set by Auth0/oidc-provider, or `grant_type`) says `client_credentials`;
 *   3. no end-user is present: `sub` equals the client the token was issued to (`client_id`, else `azp`), which is
 *      what the client_credentials grant produces at oidc-provider and Okta. (Auth0 marks it with `gty`; for
 *      Keycloak service accounts, whose `sub` is a user id, add a mapper that sets `agentClaim`.)
 * Everything else is a human. An explicit `agentClaim: false` does not override rules 2–3.
 */
export function isAgentToken(payload: JWTPayload, agentClaim: string): boolean {
  const marker = payload[agentClaim];
  if (marker === true || marker === 'true') return true;
  for (const hint of [payload['gty'], payload['grant_type']]) {
    if (typeof hint === 'string' && MACHINE_GRANT_TYPES.has(hint)) return true;
  }
  const clientId = typeof payload['client_id'] === 'string' ? payload['client_id'] : payload['azp'];
  return typeof clientId === 'string' && clientId !== '' && payload.sub === clientId;
}

/**
 * Maps the claims of a verified token to an `Identity`. Pure; throws `TokenError` (GH_ERR_TOKEN_INVALID) for
 * malformed claims. `email` is dropped when the token says `email_verified: false`.
 */
export function claimsToIdentity(payload: JWTPayload, mapping: ClaimMapping): Identity {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub === '' || sub.length > MAX_CLAIM_STRING_LENGTH) {
    throw invalid('token has no valid "sub" claim');
  }
  if (typeof payload.iss !== 'string' || payload.iss === '') throw invalid('token has no valid "iss" claim');
  const email = payload['email_verified'] === false ? '' : optionalString(payload, 'email');
  const clientId = optionalString(payload, 'client_id') || optionalString(payload, 'azp');
  return Object.freeze({
    sub,
    email,
    groups: Object.freeze(readGroups(payload, mapping.groupsClaim)),
    agent: isAgentToken(payload, mapping.agentClaim),
    issuer: payload.iss,
    client_id: clientId,
  });
}
