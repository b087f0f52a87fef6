import { GatehouseError } from '../../shared/errors.js';
import type { ErrorCodeOf } from '../../shared/errors.js';

/** Stable codes of the MCP gateway's upstream failures (catalogued in services/shared/error-catalog/upstream.ts). */
export const McpErrorCode = {
  /** The upstream MCP server cannot be reached, timed out, or refused the gateway's credential. */
  upstreamUnavailable: 'GH_ERR_MCP_UPSTREAM',
  /** The upstream answered something the gateway cannot relay (not JSON-RPC, wrong type, too large). */
  upstreamProtocol: 'GH_ERR_MCP_UPSTREAM_PROTOCOL',
} as const satisfies Record<string, ErrorCodeOf<'upstream'>>;

export type McpErrorCode = (typeof McpErrorCode)[keyof typeof McpErrorCode];

/** The upstream MCP server could not be used. `message` holds no address, credential or payload. */
export class McpUpstreamError extends GatehouseError {
  declare readonly code: McpErrorCode;

  constructor(code: McpErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
