import { GatehouseError } from '../../shared/errors.js';
import type { ErrorCode } from '../../shared/errors.js';

/** Stable codes of the SSH listener. Never reused. */
export const SshErrorCode = {
  /** The listener's own host key file is missing or unreadable. */
  hostKey: 'GH_ERR_SSH_HOST_KEY',
  /** A pinned upstream host key in the configuration is not an OpenSSH public key line. */
  pinnedKeyInvalid: 'GH_ERR_SSH_PINNED_KEY_INVALID',
  /** The upstream host could not be reached or refused the gateway's own login. */
  upstream: 'GH_ERR_SSH_UPSTREAM',
  /** The upstream host presented a key other than the pinned one. */
  upstreamHostKey: 'GH_ERR_SSH_UPSTREAM_HOST_KEY',
  /** The client's token was refused. */
  token: 'GH_ERR_SSH_TOKEN',
  /** The SSH user name names no SSH connection. */
  unknownConnection: 'GH_ERR_SSH_UNKNOWN_CONNECTION',
  /** The audit log refused the session or a request (fail closed). */
  auditUnavailable: 'GH_ERR_SSH_AUDIT_UNAVAILABLE',
  /** The node is at `maxSessions`. */
  tooManySessions: 'GH_ERR_SSH_TOO_MANY_SESSIONS',
  /** No completed login within `authTimeoutMs` of the TCP connect (identification line included). */
  authTimeout: 'GH_ERR_SSH_AUTH_TIMEOUT',
  /** The node is shutting down. */
  stopping: 'GH_ERR_SSH_STOPPING',
} as const satisfies Record<string, ErrorCode>;

export type SshErrorCode = (typeof SshErrorCode)[keyof typeof SshErrorCode];

/** An SSH listener error. `message` is safe to show to the client: no addresses, keys or tokens. */
export class SshGatewayError extends GatehouseError {
  declare readonly code: SshErrorCode;

  constructor(code: SshErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
