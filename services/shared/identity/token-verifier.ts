import { createRemoteJWKSet, errors as jose, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { parseConfig } from '../config/load-config.js';
import { discoverProvider } from './discovery.js';
import { TokenError, TokenErrorCode } from './errors.js';
import { describeNetworkError } from './fetch-json.js';
import { claimsToIdentity, GATEHOUSE_AGENT_CLAIM } from './identity.js';
import type { ClaimMapping, Identity } from './identity.js';

/** Asymmetric JWS algorithms only: `none` and HMAC (`HS*`) can never be enabled, which rules out key confusion. */
export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

const httpUrl = z
  .string()
  .refine((v) => /^https?:$/.test(URL.parse(v)?.protocol ?? ''), { message: 'must be an http(s) URL' });

const optionsSchema = z.strictObject({
  /** Expected `iss`, compared exactly; also the base of discovery. */
  issuer: httpUrl,
  /** Accepted `aud` value(s): the token must name at least one. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** JWKS location; when absent it is read from `${issuer}/.well-known/openid-configuration`. */
  jwksUri: httpUrl.optional(),
  algorithms: z
    .array(z.enum(SUPPORTED_ALGORITHMS, { message: `allowed: ${SUPPORTED_ALGORITHMS.join(', ')}` }))
    .min(1)
    .default(['RS256', 'ES256', 'PS256', 'EdDSA']),
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
  /** Claim whose value `true` marks an agent (see `isAgentToken` for the full rule). */
  agentClaim: z.string().min(1).default(GATEHOUSE_AGENT_CLAIM),
  groupsClaim: z.string().min(1).default('groups'),
  /** Timeout of each discovery or JWKS request. */
  httpTimeoutMs: z.number().int().min(1).max(60_000).default(5_000),
  /** How long fetched keys are used before being refetched. */
  jwksCacheMaxAgeMs: z
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  /** Minimum time between refetches triggered by an unknown `kid` (key rotation). */
  jwksCooldownMs: z.number().int().min(0).default(30_000),
  /** Longer tokens are rejected before any parsing. */
  maxTokenLength: z
    .number()
    .int()
    .min(64)
    .max(1 << 20)
    .default(16 * 1024),
});

export type TokenVerifierOptions = z.input<typeof optionsSchema>;

export type TokenVerifier = {
  /** Verifies a compact JWS (access or ID token) and maps its claims. Rejects with `TokenError` only. */
  verify(token: string): Promise<Identity>;
  /** Discovers and fetches the keys now (for readiness checks); rejects with GH_ERR_JWKS_UNAVAILABLE. */
  warmUp(): Promise<void>;
};

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function keysUnavailable(detail: string, cause?: unknown): TokenError {
  return new TokenError(TokenErrorCode.jwksUnavailable, 'identity provider keys are unavailable', {
    cause: new Error(detail, cause === undefined ? undefined : { cause }),
  });
}

/** Rebuilds a library error as a cause that holds only its class, code and failed claim (never token content). */
function safeCause(err: unknown): Error {
  if (err instanceof jose.JWTClaimValidationFailed || err instanceof jose.JWTExpired) {
    return new Error(`${err.name} ${err.code}: claim "${err.claim}" ${err.reason}`);
  }
  if (err instanceof jose.JOSEError) return new Error(`${err.name} ${err.code}`);
  return new Error(err instanceof Error ? err.name : 'non-error thrown');
}

/**
 * The identity of a token whose signature verified but whose claims did not pass (jose checks the signature first,
 * then the claims, and reports the verified payload with the claim failure). Undefined when the claims do not even
 * map to an identity.
 */
function verifiedIdentityOf(err: unknown, mapping: ClaimMapping): Identity | undefined {
  if (!(err instanceof jose.JWTClaimValidationFailed || err instanceof jose.JWTExpired)) return undefined;
  try {
    return claimsToIdentity(err.payload, mapping);
  } catch {
    return undefined; // malformed claims: nothing trustworthy to report
  }
}

function mapVerifyError(err: unknown, mapping: ClaimMapping): TokenError {
  if (err instanceof TokenError) return err;
  const cause = safeCause(err);
  const verifiedIdentity = verifiedIdentityOf(err, mapping);
  const fail = (code: TokenErrorCode, message: string) =>
    new TokenError(code, message, { cause, verifiedIdentity });
  if (err instanceof jose.JWTExpired) return fail(TokenErrorCode.expired, 'token has expired');
  if (err instanceof jose.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return fail(TokenErrorCode.audience, 'token is not intended for this service');
      case 'iss':
        return fail(TokenErrorCode.invalid, 'token issuer is not trusted');
      case 'nbf':
        return fail(TokenErrorCode.invalid, 'token is not valid yet');
      default:
        return fail(TokenErrorCode.invalid, `token claim "${err.claim}" is missing or invalid`);
    }
  }
  if (err instanceof jose.JOSEAlgNotAllowed)
    return fail(TokenErrorCode.invalid, 'token signing algorithm is not allowed');
  if (err instanceof jose.JWSSignatureVerificationFailed)
    return fail(TokenErrorCode.invalid, 'token signature is invalid');
  if (err instanceof jose.JWKSNoMatchingKey || err instanceof jose.JWKSMultipleMatchingKeys) {
    return fail(TokenErrorCode.invalid, 'token signing key is not known to the identity provider');
  }
  if (err instanceof jose.JOSENotSupported)
    return fail(TokenErrorCode.invalid, 'token uses an unsupported algorithm');
  return fail(TokenErrorCode.invalid, 'token is malformed');
}

/**
 * Verifies OIDC access tokens and ID tokens (compact JWS) against an issuer's published keys.
 *
 * - JWT access tokens are required: an opaque token is rejected (GH_ERR_TOKEN_INVALID). Most providers issue JWT
 *   access tokens once an API audience / resource indicator is configured for them.
 * - Checked: signature with a key from the issuer's JWKS (cached, refetched on an unknown `kid`, at most once per
 *   `jwksCooldownMs`), `alg` in `algorithms` (asymmetric only), `iss`, `aud`, `exp` (required), `nbf`, `sub`
 *   (required), with `clockToleranceSeconds` of leeway.
 * - Discovery and key fetches time out after `httpTimeoutMs`; when keys cannot be had the error is
 *   GH_ERR_JWKS_UNAVAILABLE (fail closed). A failed discovery is retried by the next call.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const opts = parseConfig(optionsSchema, options, 'token verifier options');
  const algorithms = [...opts.algorithms];
  const audience = typeof opts.audience === 'string' ? opts.audience : [...opts.audience];
  const mapping = { agentClaim: opts.agentClaim, groupsClaim: opts.groupsClaim };

  const remoteKeySet = (jwksUri: string): RemoteKeySet =>
    createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: opts.httpTimeoutMs,
      cacheMaxAge: opts.jwksCacheMaxAgeMs,
      cooldownDuration: opts.jwksCooldownMs,
    });

  let keySet: Promise<{ uri: string; keys: RemoteKeySet }> | undefined = opts.jwksUri
    ? Promise.resolve({ uri: opts.jwksUri, keys: remoteKeySet(opts.jwksUri) })
    : undefined;

  function resolveKeySet(): Promise<{ uri: string; keys: RemoteKeySet }> {
    if (keySet) return keySet;
    const pending = discoverProvider(opts.issuer, opts.httpTimeoutMs).then(
      (meta) => ({ uri: meta.jwks_uri, keys: remoteKeySet(meta.jwks_uri) }),
      (err: unknown) => {
        if (keySet === pending) keySet = undefined;
        throw keysUnavailable(`discovery for ${opts.issuer} failed: ${describeNetworkError(err)}`, err);
      },
    );
    keySet = pending;
    return pending;
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    const { uri, keys } = await resolveKeySet();
    try {
      return await keys(header, token);
    } catch (err) {
      // A key the JWKS does not hold (or cannot use for this alg) is the token's problem, not the provider's.
      if (
        err instanceof jose.JWKSNoMatchingKey ||
        err instanceof jose.JWKSMultipleMatchingKeys ||
        err instanceof jose.JOSENotSupported
      ) {
        throw err;
      }
      throw keysUnavailable(
        `JWKS ${uri}: ${err instanceof jose.JOSEError ? err.code : describeNetworkError(err)}`,
      );
    }
  };

  async function verify(token: string): Promise<Identity> {
    if (typeof token !== 'string' || token === '')
      throw new TokenError(TokenErrorCode.invalid, 'token is missing');
    if (token.length > opts.maxTokenLength)
      throw new TokenError(TokenErrorCode.invalid, 'token is too large');
    if (!JWS_COMPACT.test(token)) {
      const parts = token.split('.').length;
      throw new TokenError(
        TokenErrorCode.invalid,
        parts === 5
          ? 'encrypted (JWE) tokens are not supported'
          : 'token is not a JWT; JWT access tokens are required',
      );
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: opts.issuer,
        audience,
        algorithms,
        clockTolerance: opts.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw mapVerifyError(err, mapping);
    }
    return claimsToIdentity(payload, mapping);
  }

  async function warmUp(): Promise<void> {
    const { uri, keys } = await resolveKeySet();
    try {
      await keys.reload();
    } catch (err) {
      throw keysUnavailable(
        `JWKS ${uri}: ${err instanceof jose.JOSEError ? err.code : describeNetworkError(err)}`,
      );
    }
  }

  return Object.freeze({ verify, warmUp });
}
