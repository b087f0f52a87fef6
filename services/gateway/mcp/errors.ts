import { GatehouseError } from '../../shared/errors.js';

/** Stable codes of the MCP gateway's own failures (never reused). */
export const McpErrorCode = {
  upstreamUnavailable: 'GH_ERR_MCP_UPSTREAM_UNAVAILABLE',
  upstreamProtocol: 'GH_ERR_MCP_UPSTREAM_PROTOCOL',
  upstreamTooLarge: 'GH_ERR_MCP_UPSTREAM_TOO_LARGE',
  sseEventTooLarge: 'GH_ERR_MCP_SSE_EVENT_TOO_LARGE',
  /** A request to an MCP endpoint without a bearer token (answered 401 with the RFC 9728 challenge). */
  noToken: 'GH_ERR_MCP_NO_TOKEN',
} as const;

export type McpErrorCode = (typeof McpErrorCode)[keyof typeof McpErrorCode];

/** The upstream MCP server could not be reached or answered something the gateway cannot relay. */
export class McpUpstreamError extends GatehouseError {
  declare readonly code: McpErrorCode;

  constructor(code: McpErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
