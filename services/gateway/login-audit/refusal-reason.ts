import { TokenError, TokenErrorCode } from '../../shared/identity/index.js';

/** Why a login was refused: the `reason` of a `login_refused` event (documented in proto/gatehouse/v1/events.proto). */
export const RefusalReason = {
  noToken: 'no_token',
  badToken: 'bad_token',
  expiredToken: 'expired_token',
  wrongAudience: 'wrong_audience',
  idpUnavailable: 'idp_unavailable',
  unknownConnection: 'unknown_connection',
  plaintextRefused: 'plaintext_refused',
  authTimeout: 'auth_timeout',
  tooManySessions: 'too_many_sessions',
  protocolError: 'protocol_error',
  auditUnavailable: 'audit_unavailable',
  upstreamUnavailable: 'upstream_unavailable',
  stopping: 'stopping',
  clientClosed: 'client_closed',
  internal: 'internal_error',
  rateLimited: 'rate_limited',
} as const;

export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

/** The reason for a token that did not verify (any error the verifier throws). */
export function tokenRefusalReason(err: unknown): RefusalReason {
  if (!(err instanceof TokenError)) return RefusalReason.badToken;
  switch (err.code) {
    case TokenErrorCode.expired:
      return RefusalReason.expiredToken;
    case TokenErrorCode.audience:
      return RefusalReason.wrongAudience;
    case TokenErrorCode.jwksUnavailable:
      return RefusalReason.idpUnavailable;
    case TokenErrorCode.invalid:
      return RefusalReason.badToken;
  }
}
