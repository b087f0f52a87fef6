import type { FamilyEntries } from './entry.js';

/** Bytes on a wire or in a record do not follow their protocol. */
export const protocolErrors = {
  GH_ERR_PG_PROTOCOL: {
    meaning:
      'malformed, truncated, oversized or unknown PostgreSQL protocol bytes: the connection is closed (in a replay, the frame shows as undecodable)',
    client:
      'PostgreSQL `FATAL 08P01`, `54000` (too large) or `0A000` (protocol version); other sessions unaffected',
  },
  GH_ERR_PG_DECODE: {
    meaning: 'retired (recorded bytes are decoded by the shared codec: `GH_ERR_PG_PROTOCOL`); never reused',
    client: '—',
  },
  GH_ERR_EVENT_DECODE: {
    meaning: 'a Kafka record is not a valid Gatehouse event',
    client: '— (the recorder writes it byte for byte to `dead_letters`)',
  },
} as const satisfies FamilyEntries;
