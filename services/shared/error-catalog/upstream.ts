import type { FamilyEntries } from './entry.js';

/** A target or a dependency (database, SSH host, ClickHouse, approval or replay API) cannot be used. */
export const upstreamErrors = {
  GH_ERR_PG_UPSTREAM: {
    meaning: "the upstream database cannot be reached or refused the gateway's own login",
    client: 'PostgreSQL `FATAL 08006 upstream for connection "…" is unavailable`',
  },
  GH_ERR_SSH_UPSTREAM: {
    meaning: "the upstream SSH host cannot be reached or refused the gateway's own login",
    client: 'SSH: `gatehouse: upstream for connection "…" is unavailable`, exit 255',
  },
  GH_ERR_SSH_UPSTREAM_HOST_KEY: {
    meaning: 'the upstream SSH host presented a key other than the pinned one',
    client: 'SSH: `gatehouse: upstream host key … does not match the pinned key`, exit 255',
  },
  GH_ERR_MCP_UPSTREAM: {
    meaning: "the upstream MCP server cannot be reached, timed out, or refused the gateway's own credential",
    client: 'MCP: JSON-RPC error `-32004` `gatehouse: the upstream MCP server is unavailable`',
  },
  GH_ERR_MCP_UPSTREAM_PROTOCOL: {
    meaning:
      'the upstream MCP server answered something the gateway cannot relay (not JSON-RPC, wrong content type, larger than `maxUpstreamMessageBytes`)',
    client: 'MCP: JSON-RPC error `-32004` (or the stream is cut when it had started)',
  },
  GH_ERR_CLICKHOUSE: {
    meaning: 'ClickHouse answered with an error or cannot be reached (retried when retriable)',
    client: '— (replay API: `GH_ERR_STORE_UNAVAILABLE`)',
  },
  GH_ERR_STORE_UNAVAILABLE: {
    meaning: 'the recording store cannot answer a replay query',
    client: 'HTTP 503',
  },
  GH_ERR_APPROVAL_UNAVAILABLE: {
    meaning: 'the approval service cannot reach Kafka or the identity provider',
    client: 'HTTP 503; gRPC UNAVAILABLE',
  },
  GH_ERR_APPROVAL_UNREACHABLE: {
    meaning: 'the reviewer CLI cannot reach the approval service',
    client: 'CLI: the message on stderr, exit 1',
  },
  GH_ERR_REPLAY_API: {
    meaning: 'the replay API answered with an error or cannot be reached (recorder CLI)',
    client: 'CLI: the message on stderr, exit 1',
  },
  GH_ERR_IDP_TOKEN_REQUEST: {
    meaning: 'a token request to the identity provider was refused or failed (dev IdP CLI)',
    client: 'CLI: the message on stderr',
  },
  GH_ERR_HTTP_UPSTREAM: {
    meaning: 'the upstream HTTP API cannot be reached, or reset or failed the connection while answering',
    client:
      'HTTP 502 `{"error":"upstream_unavailable"}` (the connection is cut when the response had started; the audit records why)',
  },
  GH_ERR_HTTP_UPSTREAM_TIMEOUT: {
    meaning:
      'the upstream HTTP API sent no response headers within `headersTimeoutMs`, or its body stalled longer than `bodyTimeoutMs`',
    client: 'HTTP 504 `{"error":"upstream_timeout"}` (the connection is cut when the response had started)',
  },
  GH_ERR_HTTP_UPSTREAM_UNMASKABLE: {
    meaning:
      'an upstream HTTP response that must be masked is larger than `maxMaskedResponseBytes`, compressed, or not valid JSON',
    client: 'HTTP 502 `{"error":"response_unmaskable"}`',
  },
} as const satisfies FamilyEntries;
