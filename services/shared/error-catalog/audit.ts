import type { FamilyEntries } from './entry.js';

const REFUSED = 'PostgreSQL `57P03`; SSH: refused, exit 255 (as the protocol’s `…_AUDIT_UNAVAILABLE`)';

/** The audit log (Kafka) cannot take or give the records: the work is refused (fail closed), never unrecorded. */
export const auditErrors = {
  GH_ERR_PUBLISH_BUFFER_FULL: {
    meaning: "the publisher's bounded buffer is full: new work is refused until it drains",
    client: REFUSED,
  },
  GH_ERR_PUBLISH_UNAVAILABLE: {
    meaning: 'Kafka has been unreachable for longer than the configured time',
    client: REFUSED,
  },
  GH_ERR_PUBLISH_TIMEOUT: {
    meaning: 'a durable publish was not acknowledged in time (the record stays buffered)',
    client: REFUSED,
  },
  GH_ERR_PUBLISHER_CLOSED: { meaning: 'the publisher is closed (the node is stopping)', client: REFUSED },
  GH_ERR_PUBLISH_REFUSED: {
    meaning: 'the broker refused a record for good (too large, not authorized, corrupt): its session fails',
    client: 'PostgreSQL `FATAL 54000` (too large) or `58000`; SSH: the same line on stderr, exit 255',
  },
  GH_ERR_EVENT_TOO_LARGE: {
    meaning: 'an event cannot be brought under the event size bound',
    client: '— (its session fails as `GH_ERR_PUBLISH_REFUSED`)',
  },
  GH_ERR_PG_AUDIT_UNAVAILABLE: {
    meaning: 'the audit log refused a PostgreSQL session or statement',
    client:
      'PostgreSQL `57P03` (`ERROR` per statement, `FATAL` at login or mid-result), `54000`/`58000` if refused',
  },
  GH_ERR_SSH_AUDIT_UNAVAILABLE: {
    meaning: 'the audit log refused an SSH session or request',
    client: 'SSH: refused before the command runs, exit 255',
  },
  GH_ERR_HTTP_AUDIT_UNAVAILABLE: {
    meaning: 'the audit log refused an HTTP session, request or response record',
    client:
      'HTTP 503 `{"error":"audit_unavailable"}` (nothing forwarded; a response not yet sent is withheld)',
  },
  GH_ERR_TOPIC_PROVISION: {
    meaning: 'a Kafka topic could not be created or checked at start-up',
    client: '— (the service does not start)',
  },
  GH_ERR_EMBEDDED_LOG: {
    meaning:
      'the embedded event log (`npm start`) cannot be opened or used: its folder is locked by another process, or a file is unreadable',
    client: '— (the service does not start)',
  },
  GH_ERR_APPROVAL_LOG_UNAVAILABLE: {
    meaning: 'the gateway cannot read the approvals topic (did not join or catch up in time)',
    client: 'PostgreSQL `57P03`; SSH: the request is refused',
  },
} as const satisfies FamilyEntries;
