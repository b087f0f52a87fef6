import type { FamilyEntries } from './entry.js';

const NO_START = '— (the service does not start; the message on stderr)';

/** Configuration, keys or schema files are invalid: found at start-up. */
export const configErrors = {
  GH_ERR_CONFIG: {
    meaning: 'the configuration is invalid (every bad field listed with its path)',
    client: NO_START,
  },
  GH_ERR_SECRET_UNAVAILABLE: {
    meaning: 'a secret named by the configuration is not available',
    client: NO_START,
  },
  GH_ERR_KAFKA_SECURITY_CONFIG: {
    meaning: '`kafka.ssl` / `kafka.sasl` cannot be used (e.g. an unreadable CA file)',
    client: NO_START,
  },
  GH_ERR_SSH_HOST_KEY: {
    meaning: "the SSH listener's host key file is missing or unreadable",
    client: NO_START,
  },
  GH_ERR_SSH_PINNED_KEY_INVALID: {
    meaning: 'a pinned upstream host key is not an OpenSSH public key line',
    client: NO_START,
  },
  GH_ERR_SIGNING_KEY: {
    meaning: 'a signing or verification key cannot be loaded (bad PEM, not Ed25519, bad key id)',
    client: NO_START,
  },
  GH_ERR_MIGRATION: {
    meaning: 'a ClickHouse migration file is malformed, or an applied one was changed',
    client: NO_START,
  },
  GH_ERR_IDP_KEYS: {
    meaning: "the dev IdP's signing key file cannot be read, parsed or written",
    client: NO_START,
  },
  GH_ERR_TOKEN_CACHE: {
    meaning:
      'the token cache file is unreadable, malformed, or readable by other users (it must be mode 0600)',
    client: 'CLI: the message (with the file) on stderr, exit 1',
  },
  GH_ERR_CLIENT_EXEC: {
    meaning:
      'the client program `gatehouse psql` or `gatehouse ssh` runs (psql, ssh) is not installed or cannot start',
    client: 'CLI: the message on stderr, exit 1',
  },
} as const satisfies FamilyEntries;
