import type { Logger } from '../../shared/logger.js';
import type { ErrorVerdict } from './types.js';

/** The one reason of every `error` verdict (and the log line that goes with it). */
export const AUDIT_UNAVAILABLE = 'audit log unavailable: request not forwarded';

/** The `error` verdict for a publish the audit log refused or could not acknowledge (logged once, here). */
export function auditUnavailable(log: Logger, err: unknown, revision: string): ErrorVerdict {
  log.warn(
    { err: { code: (err as { code?: string }).code, message: (err as Error).message } },
    AUDIT_UNAVAILABLE,
  );
  return { kind: 'error', cause: 'audit_unavailable', reasons: [AUDIT_UNAVAILABLE], revision };
}
