export { createTokenVerifier, SUPPORTED_ALGORITHMS } from './token-verifier.js';
export type { TokenVerifier, TokenVerifierOptions } from './token-verifier.js';
export { claimsToIdentity, isAgentToken, GATEHOUSE_AGENT_CLAIM } from './identity.js';
export type { Identity, ClaimMapping } from './identity.js';
export { TokenError, TokenErrorCode, IdentityFetchError } from './errors.js';
export { discoverProvider, wellKnownUrl } from './discovery.js';
export type { ProviderMetadata } from './discovery.js';
export { fetchJson } from './fetch-json.js';
