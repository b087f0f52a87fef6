import { GatehouseError } from '../shared/errors.js';
import type { ErrorCode } from '../shared/errors.js';

/**
 * Errors the reviewer APIs return. `status` is the HTTP status; the gRPC layer maps it to a status code. Messages are
 * safe to show to the reviewer: they never contain tokens or request text.
 */
export class ApprovalApiError extends GatehouseError {
  readonly status: number;

  constructor(code: ErrorCode, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

export const ApprovalErrorCode = {
  unauthenticated: 'GH_ERR_APPROVAL_UNAUTHENTICATED',
  forbidden: 'GH_ERR_APPROVAL_FORBIDDEN',
  selfApproval: 'GH_ERR_APPROVAL_SELF',
  notFound: 'GH_ERR_APPROVAL_NOT_FOUND',
  conflict: 'GH_ERR_APPROVAL_CONFLICT',
  badRequest: 'GH_ERR_APPROVAL_BAD_REQUEST',
  reasonRequired: 'GH_ERR_APPROVAL_REASON_REQUIRED',
  unavailable: 'GH_ERR_APPROVAL_UNAVAILABLE',
  notReady: 'GH_ERR_APPROVAL_NOT_READY',
  tooManyStreams: 'GH_ERR_APPROVAL_TOO_MANY_STREAMS',
  internal: 'GH_ERR_APPROVAL_INTERNAL',
} as const satisfies Record<string, ErrorCode>;

export const unauthenticated = (message: string, cause?: unknown) =>
  new ApprovalApiError(ApprovalErrorCode.unauthenticated, 401, message, { cause });
export const notFound = (id: string) =>
  new ApprovalApiError(ApprovalErrorCode.notFound, 404, `no approval ${JSON.stringify(id.slice(0, 80))}`);
export const badRequest = (message: string) =>
  new ApprovalApiError(ApprovalErrorCode.badRequest, 400, message);
export const logUnavailable = (cause?: unknown) =>
  new ApprovalApiError(
    ApprovalErrorCode.unavailable,
    503,
    'the approval log (Kafka) cannot be reached; try again shortly',
    { cause },
  );
export const notReady = () =>
  new ApprovalApiError(
    ApprovalErrorCode.notReady,
    503,
    'the approval service is still reading the approval log; try again shortly',
  );

/** The service could not start (topic, listeners, identity provider). */
export class ApprovalStartError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_APPROVAL_START', message, options);
  }
}
