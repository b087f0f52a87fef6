/**
 * One JSON-RPC 2.0 message as an MCP client posts it, parsed and classified. Pure: bytes in, a typed message or a
 * JSON-RPC error out. Batches (JSON arrays) are refused: MCP removed them in revision 2025-06-18, and neither
 * revision this gateway serves (2025-11-25, 2026-07-28) allows them.
 */

export type JsonRpcId = string | number;

export type McpMessage =
  | {
      readonly type: 'request';
      readonly id: JsonRpcId;
      readonly method: string;
      readonly params: Readonly<Record<string, unknown>> | undefined;
      readonly body: Readonly<Record<string, unknown>>;
    }
  | {
      readonly type: 'notification';
      readonly method: string;
      readonly params: Readonly<Record<string, unknown>> | undefined;
      readonly body: Readonly<Record<string, unknown>>;
    }
  | { readonly type: 'response'; readonly id: JsonRpcId; readonly body: Readonly<Record<string, unknown>> };

/** JSON-RPC error codes the gateway answers with. */
export const RpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Gateway: the request was denied by policy (or not approved). Server-error range. */
  denied: -32003,
  /** Gateway: the upstream MCP server failed or is unreachable. */
  upstream: -32004,
  /** Gateway: the audit log is unavailable, nothing was forwarded (fail closed). */
  auditUnavailable: -32005,
  /** `Mcp-Method` / `Mcp-Name` headers disagree with the body (the SDK's HEADER_MISMATCH_ERROR_CODE). */
  headerMismatch: -32020,
} as const;

export type RpcFailure = {
  readonly httpStatus: number;
  readonly code: number;
  readonly message: string;
  /** The request id when it could be read (else the error goes out with `id: null`). */
  readonly id: JsonRpcId | null;
};

export type ParsedBody = { ok: true; message: McpMessage } | { ok: false; failure: RpcFailure };

const fail = (
  httpStatus: number,
  code: number,
  message: string,
  id: JsonRpcId | null = null,
): ParsedBody => ({
  ok: false,
  failure: { httpStatus, code, message, id },
});

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validId(v: unknown): v is JsonRpcId {
  return (typeof v === 'string' && v.length <= 256) || (typeof v === 'number' && Number.isFinite(v));
}

/** Parses the body of a POST to the MCP endpoint. */
export function parseMcpBody(text: string): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return fail(400, RpcCode.parseError, 'Parse error: the body is not valid JSON');
  }
  if (Array.isArray(value)) {
    return fail(
      400,
      RpcCode.invalidRequest,
      'Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 and later)',
    );
  }
  if (!isObject(value)) return fail(400, RpcCode.invalidRequest, 'Invalid Request: not a JSON-RPC object');
  const id = validId(value.id) ? value.id : null;
  if (value.jsonrpc !== '2.0')
    return fail(400, RpcCode.invalidRequest, 'Invalid Request: jsonrpc must be "2.0"', id);
  if ('method' in value) {
    if (typeof value.method !== 'string' || value.method === '' || value.method.length > 256) {
      return fail(400, RpcCode.invalidRequest, 'Invalid Request: method must be a non-empty string', id);
    }
    if (value.params !== undefined && !isObject(value.params)) {
      return fail(400, RpcCode.invalidRequest, 'Invalid Request: params must be an object', id);
    }
    const params = value.params;
    if (!('id' in value))
      return { ok: true, message: { type: 'notification', method: value.method, params, body: value } };
    if (!validId(value.id)) {
      return fail(400, RpcCode.invalidRequest, 'Invalid Request: id must be a string or a number');
    }
    return {
      ok: true,
      message: { type: 'request', id: value.id, method: value.method, params, body: value },
    };
  }
  if (id !== null && 'result' in value !== 'error' in value) {
    if ('error' in value && !isObject(value.error))
      return fail(400, RpcCode.invalidRequest, 'Invalid Request: bad error object', id);
    return { ok: true, message: { type: 'response', id, body: value } };
  }
  return fail(
    400,
    RpcCode.invalidRequest,
    'Invalid Request: neither a request, a notification nor a response',
    id,
  );
}

/** The JSON text of a JSON-RPC error response. */
export function rpcErrorText(id: JsonRpcId | null, code: number, message: string, data?: unknown): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    error: data === undefined ? { code, message } : { code, message, data },
  });
}

/** Which `params` field the `Mcp-Name` header mirrors, per method (as the SDK's MCP_NAME_HEADER_SOURCE). */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'resources/subscribe': 'uri',
  'resources/unsubscribe': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** The `params` value the `Mcp-Name` header states for `method`; undefined when the method has none. */
export function routingName(
  method: string,
  params: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
  if (field === undefined) return undefined;
  const v = params?.[field];
  return typeof v === 'string' ? v : undefined;
}
