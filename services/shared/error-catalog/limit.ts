import type { FamilyEntries } from './entry.js';

/** A configured bound was reached: the work is refused, never queued without limit. */
export const limitErrors = {
  GH_ERR_PG_TOO_MANY_SESSIONS: {
    meaning: 'the node is at `maxSessions` for PostgreSQL',
    client: 'PostgreSQL `FATAL 53300 too many sessions on this gatehouse node`',
  },
  GH_ERR_SSH_TOO_MANY_SESSIONS: {
    meaning: 'the node is at `maxSessions` for SSH',
    client: 'SSH: disconnected with `gatehouse: too many sessions on this gatehouse node`',
  },
  GH_ERR_PG_LOGIN_TIMEOUT: {
    meaning: 'no completed PostgreSQL login within `authTimeoutMs`',
    client: 'PostgreSQL `FATAL 08P01 login timed out`',
  },
  GH_ERR_SSH_AUTH_TIMEOUT: {
    meaning: 'no completed SSH login within `authTimeoutMs` (identification line included)',
    client: 'SSH: disconnected',
  },
  GH_ERR_LOGIN_RATE_LIMITED: {
    meaning: 'refused logins from one source were recorded as one summary, not one by one',
    client: '— (each login is refused with its own code)',
  },
  GH_ERR_APPROVAL_TOO_MANY_STREAMS: {
    meaning: 'too many open approval event or watch streams',
    client: 'HTTP 503; gRPC UNAVAILABLE',
  },
} as const satisfies FamilyEntries;
