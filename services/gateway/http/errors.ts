import { AuditUnavailableError, GatehouseError } from '../../shared/errors.js';
import type { ErrorCodeOf } from '../../shared/errors.js';

/** Stable codes of the HTTP proxy's upstream failures (catalogued in services/shared/error-catalog/upstream.ts). */
export const HttpProxyErrorCode = {
  /** The upstream could not be reached or failed before its response headers (502). */
  upstreamUnavailable: 'GH_ERR_HTTP_UPSTREAM',
  /** The upstream sent no response headers in time (504). */
  upstreamTimeout: 'GH_ERR_HTTP_UPSTREAM_TIMEOUT',
  /** A response that must be masked is larger than `maxMaskedResponseBytes`, compressed or not JSON (502). */
  unmaskable: 'GH_ERR_HTTP_UPSTREAM_UNMASKABLE',
} as const satisfies Record<string, ErrorCodeOf<'upstream'>>;

export type HttpProxyErrorCode = (typeof HttpProxyErrorCode)[keyof typeof HttpProxyErrorCode];

/** The upstream API could not be used. `message` holds no address, credential or payload. */
export class HttpProxyError extends GatehouseError {
  declare readonly code: HttpProxyErrorCode;

  constructor(code: HttpProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The audit log refused a record of an HTTP exchange before its response reached the client (503). */
export function httpAuditUnavailable(cause: unknown): AuditUnavailableError {
  return new AuditUnavailableError('GH_ERR_HTTP_AUDIT_UNAVAILABLE', 'the audit log refused the response', {
    cause,
  });
}
