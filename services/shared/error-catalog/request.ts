import type { FamilyEntries } from './entry.js';

/** The client asked for something that does not exist, is not allowed as asked, or conflicts. */
export const requestErrors = {
  GH_ERR_PG_UNKNOWN_CONNECTION: {
    meaning: 'the PostgreSQL database name names no connection (said only after the token verified)',
    client: 'PostgreSQL `FATAL 3D000 connection "…" does not exist`',
  },
  GH_ERR_SSH_UNKNOWN_CONNECTION: {
    meaning: 'the SSH user name names no connection (said only after the token verified)',
    client: 'SSH: `gatehouse: unknown connection "…"`, exit 255',
  },
  GH_ERR_PG_STARTUP_PARAMETER: {
    meaning: 'a startup parameter is not on the allowlist, or a protocol option (`_pq_.…`) was asked for',
    client:
      'PostgreSQL `FATAL 42501 startup parameter "…" is not allowed by gatehouse` (`08P01` for `_pq_.…`)',
  },
  GH_ERR_PG_CLIENT_ENCODING: { meaning: '`client_encoding` is not UTF8', client: 'PostgreSQL `FATAL 22023`' },
  GH_ERR_BAD_REQUEST: { meaning: 'a replay API request is invalid', client: 'HTTP 400' },
  GH_ERR_NOT_FOUND: { meaning: 'no such HTTP route', client: 'HTTP 404' },
  GH_ERR_SESSION_NOT_FOUND: { meaning: 'no recorded session has this id', client: 'HTTP 404' },
  GH_ERR_NO_TERMINAL_OUTPUT: {
    meaning: 'the session recorded no terminal output (e.g. SQL) for an asciicast',
    client: 'HTTP 404',
  },
  GH_ERR_APPROVAL_BAD_REQUEST: {
    meaning: 'an approval API request is invalid',
    client: 'HTTP 400; gRPC INVALID_ARGUMENT',
  },
  GH_ERR_APPROVAL_REASON_REQUIRED: {
    meaning: 'a rejection without a reason',
    client: 'HTTP 400; gRPC INVALID_ARGUMENT',
  },
  GH_ERR_APPROVAL_NOT_FOUND: { meaning: 'no approval has this id', client: 'HTTP 404; gRPC NOT_FOUND' },
  GH_ERR_APPROVAL_CONFLICT: {
    meaning:
      'the approval is already decided, settled, expired or abandoned, or the reviewer already decided',
    client: 'HTTP 409; gRPC FAILED_PRECONDITION',
  },
} as const satisfies FamilyEntries;
