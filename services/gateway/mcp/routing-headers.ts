import type { McpMessage } from './jsonrpc-message.js';
import { routingName } from './jsonrpc-message.js';

const B64_PREFIX = '=?base64?';
const B64_SUFFIX = '?=';

/** An `Mcp-*` header value as the spec encodes it: plain ASCII, or `=?base64?<utf-8 base64>?=`. */
export function decodeHeaderValue(v: string): string | undefined {
  if (!(v.startsWith(B64_PREFIX) && v.endsWith(B64_SUFFIX))) return v;
  const b64 = v.slice(B64_PREFIX.length, v.length - B64_SUFFIX.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

/**
 * Checks the `Mcp-Method` / `Mcp-Name` routing headers (MCP 2026-07-28) against the body: when present they must
 * state exactly the body's method and its name/uri; for a 2026-07-28 request `Mcp-Method` is required. Returns the
 * problem, or undefined when they agree. (A proxy or load balancer routes on the headers, the server acts on the
 * body: a disagreement is an attempt to route one call as another.)
 */
export function routingHeaderProblem(
  message: McpMessage,
  headers: { method: string | undefined; name: string | undefined },
  modern: boolean,
): string | undefined {
  if (message.type === 'response') {
    return headers.method !== undefined || headers.name !== undefined
      ? 'Mcp-Method/Mcp-Name headers on a JSON-RPC response'
      : undefined;
  }
  if (headers.method === undefined) return modern ? 'the Mcp-Method header is required' : undefined;
  if (headers.method !== message.method) return 'the Mcp-Method header does not match the body';
  const expected = routingName(message.method, message.params);
  if (headers.name === undefined) {
    return modern && expected !== undefined ? 'the Mcp-Name header is required for this method' : undefined;
  }
  const named = decodeHeaderValue(headers.name);
  if (named === undefined || named !== expected) return 'the Mcp-Name header does not match the body';
  return undefined;
}
