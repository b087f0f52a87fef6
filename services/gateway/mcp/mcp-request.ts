import { fingerprint } from '../policy/fingerprint.js';
import type { McpRequest, McpRequestDetail } from '../policy/types.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { McpMessage } from './jsonrpc-message.js';
import { routingName } from './jsonrpc-message.js';

/** Methods whose `params.arguments` are the call's arguments. */
const WITH_ARGUMENTS = new Set(['tools/call', 'prompts/get']);

export type McpRequestContext = {
  readonly server: string;
  readonly protocolVersion: string;
  readonly toolChanged: (tool: string) => boolean;
};

/** `input.request` for one client message (`phase: call`). */
export function mcpRequestOf(message: McpMessage, ctx: McpRequestContext): McpRequest {
  const method = message.type === 'response' ? '' : message.method;
  const params = message.type === 'response' ? undefined : message.params;
  const name = routingName(method, params);
  const tool = method === 'tools/call' || method === 'prompts/get' ? (name ?? null) : null;
  const resource = method.startsWith('resources/') ? (name ?? null) : null;
  const args = WITH_ARGUMENTS.has(method) ? (params?.arguments ?? {}) : null;
  return mcpRequest({
    message_type: message.type,
    method,
    tool,
    resource,
    arguments: args,
    arguments_digest: args === null ? '' : sha256Hex(canonicalJson(args)),
    server: ctx.server,
    tool_changed: tool !== null && method === 'tools/call' ? ctx.toolChanged(tool) : false,
    phase: 'call',
    protocol_version: ctx.protocolVersion,
  });
}

/** `input.request` asking whether a listed tool may be shown (`phase: list`, as a call without arguments). */
export function listedToolRequest(tool: string, ctx: McpRequestContext): McpRequest {
  return mcpRequest({
    message_type: 'request',
    method: 'tools/call',
    tool,
    resource: null,
    arguments: null,
    arguments_digest: '',
    server: ctx.server,
    tool_changed: ctx.toolChanged(tool),
    phase: 'list',
    protocol_version: ctx.protocolVersion,
  });
}

function mcpRequest(mcp: McpRequestDetail): McpRequest {
  return { kind: 'mcp', fingerprint: fingerprint('mcp', describeMcp(mcp)), mcp };
}

/**
 * The readable, exact text of a request: `tools/call delete_customer {"id":3}` (arguments as canonical JSON).
 * It is what the reviewer sees and what an approval's digest covers, so it names the exact arguments.
 */
export function describeMcp(mcp: McpRequestDetail): string {
  const head = mcp.message_type === 'response' ? '(response)' : mcp.method;
  const target = mcp.tool ?? mcp.resource;
  const parts = [head];
  if (target !== null) parts.push(target);
  if (mcp.arguments !== null) parts.push(canonicalJson(mcp.arguments));
  return `${mcp.server}: ${parts.join(' ')}`;
}
