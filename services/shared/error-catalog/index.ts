import { auditErrors } from './audit.js';
import { authErrors } from './auth.js';
import { configErrors } from './config.js';
import type { ErrorEntry } from './entry.js';
import { internalErrors } from './internal.js';
import { lifecycleErrors } from './lifecycle.js';
import { limitErrors } from './limit.js';
import { policyErrors } from './policy.js';
import { protocolErrors } from './protocol.js';
import { requestErrors } from './request.js';
import { upstreamErrors } from './upstream.js';
import { usageErrors } from './usage.js';

export type { ErrorEntry } from './entry.js';

/**
 * Every `GH_ERR_*` code, by family. A code is never reused or renamed: clients, dashboards and recorded events
 * match on it. Adding a code means adding it here and to the README's error table (a unit test compares them).
 */
export const errorFamilies = {
  auth: authErrors,
  audit: auditErrors,
  policy: policyErrors,
  protocol: protocolErrors,
  limit: limitErrors,
  upstream: upstreamErrors,
  config: configErrors,
  request: requestErrors,
  usage: usageErrors,
  lifecycle: lifecycleErrors,
  internal: internalErrors,
} as const;

export type ErrorFamily = keyof typeof errorFamilies;

/** The codes of one family (or of each family of a union). */
export type ErrorCodeOf<F extends ErrorFamily> = F extends ErrorFamily
  ? keyof (typeof errorFamilies)[F] & string
  : never;

/** Every Gatehouse error code. */
export type ErrorCode = ErrorCodeOf<ErrorFamily>;

/** A catalog row: the code, its family and its documentation. */
export type CatalogEntry = ErrorEntry & { readonly code: ErrorCode; readonly family: ErrorFamily };

const entries = new Map<string, CatalogEntry>();
for (const [family, codes] of Object.entries(errorFamilies) as [
  ErrorFamily,
  Record<ErrorCode, ErrorEntry>,
][]) {
  for (const [code, entry] of Object.entries(codes) as [ErrorCode, ErrorEntry][]) {
    entries.set(code, { code, family, ...entry });
  }
}

/** Every code with its family and documentation, in catalog order. */
export const errorCatalog: readonly CatalogEntry[] = Object.freeze([...entries.values()]);

/** Whether `code` is a Gatehouse error code (e.g. a `code` read from an unknown error or a remote answer). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && entries.has(code);
}

/** The catalog row of a code. */
export function describeError(code: ErrorCode): CatalogEntry {
  return entries.get(code)!;
}
