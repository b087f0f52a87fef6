import { GatehouseError } from '../../shared/errors.js';

/** Stable codes of the HTTP proxy's own failures (never reused). */
export const HttpProxyErrorCode = {
  /** A request without a bearer token (answered 401 with `WWW-Authenticate: Bearer`). */
  noToken: 'GH_ERR_HTTP_NO_TOKEN',
  /** The upstream could not be reached or failed mid-response (502). */
  upstreamUnavailable: 'GH_ERR_HTTP_UPSTREAM_UNAVAILABLE',
  /** The upstream sent no response headers in time (504). */
  upstreamTimeout: 'GH_ERR_HTTP_UPSTREAM_TIMEOUT',
  /** A response that must be masked is larger than `maxMaskedResponseBytes` or not valid JSON (502). */
  unmaskable: 'GH_ERR_HTTP_RESPONSE_UNMASKABLE',
  /** The audit log refused the response record before it reached the client (503, fail closed). */
  auditUnavailable: 'GH_ERR_HTTP_AUDIT_UNAVAILABLE',
} as const;

export type HttpProxyErrorCode = (typeof HttpProxyErrorCode)[keyof typeof HttpProxyErrorCode];

export class HttpProxyError extends GatehouseError {
  declare readonly code: HttpProxyErrorCode;

  constructor(code: HttpProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
