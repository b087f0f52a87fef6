import type { FamilyEntries } from './entry.js';

const EXIT_2 = 'CLI: the message and the usage on stderr, exit 2';

/** A command line was called wrongly. */
export const usageErrors = {
  GH_ERR_USAGE: { meaning: 'recorder CLI arguments are invalid', client: EXIT_2 },
  GH_ERR_APPROVAL_USAGE: { meaning: 'approval CLI arguments are invalid', client: EXIT_2 },
  GH_ERR_POLICY_USAGE: { meaning: '`gatehouse policy` arguments or environment are invalid', client: EXIT_2 },
  GH_ERR_IDP_USAGE: { meaning: 'dev IdP CLI arguments or token request options are invalid', client: EXIT_2 },
  GH_ERR_LOGIN_USAGE: {
    meaning: '`gatehouse login`, `logout`, `psql` or `ssh` arguments are invalid',
    client: EXIT_2,
  },
} as const satisfies FamilyEntries;
