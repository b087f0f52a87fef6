import type { FamilyEntries } from './entry.js';

/** A bug or an unexpected state: logged with its detail; the client sees only a generic failure. */
export const internalErrors = {
  GH_ERR_INTERNAL: { meaning: 'an unexpected error in the replay API', client: 'HTTP 500 `internal error`' },
  GH_ERR_PG_INTERNAL: {
    meaning: 'an unexpected error while opening a PostgreSQL session',
    client: 'PostgreSQL `FATAL XX000 internal gateway error`',
  },
  GH_ERR_SSH_LOGIN: {
    meaning: 'an unexpected error while checking an SSH login',
    client: 'SSH: authentication fails with `gatehouse: login failed (NAME)`',
  },
  GH_ERR_APPROVAL_INTERNAL: {
    meaning: 'an unexpected error in the approval API',
    client: 'HTTP 500; gRPC INTERNAL',
  },
  GH_ERR_UNKNOWN: {
    meaning: 'a record failed to decode with an error that has no Gatehouse code',
    client: '— (the recorder writes it to `dead_letters`)',
  },
  GH_ERR_SQL_PARSER_NOT_LOADED: {
    meaning: 'the SQL parser was used before `loadSqlParser()` resolved at start-up',
    client: '—',
  },
  GH_ERR_SQL_QUOTE: {
    meaning: 'a value cannot be written as a ClickHouse literal (non-integer number, invalid identifier)',
    client: '—',
  },
} as const satisfies FamilyEntries;
