import { create } from '@bufbuild/protobuf';
import {
  McpToolChangedSchema,
  RequestSchema,
  ResponseSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { McpAuditSession } from './audit-sessions.js';
import { McpErrorCode, McpUpstreamError } from './errors.js';
import type { JsonRpcId } from './jsonrpc-message.js';
import type { McpDecider } from './mcp-decider.js';
import type { McpRequestContext } from './mcp-request.js';
import { listedToolRequest } from './mcp-request.js';
import type { McpMasker } from './result-masker.js';
import type { ToolRegistry } from './tool-registry.js';

/** What the relay knows of the client request a server message answers. */
export type RelayContext = {
  readonly session: McpAuditSession;
  readonly requestId: number;
  /** The client's method ('' for a posted response) and JSON-RPC id. */
  readonly method: string;
  readonly rpcId: JsonRpcId | undefined;
  readonly masker: McpMasker;
  readonly requestContext: McpRequestContext;
  readonly decider: McpDecider;
  readonly tools: ToolRegistry;
};

/** `Response.frame` of one server-to-client JSON-RPC message. */
function frameOf(body: Record<string, unknown>): { frame: string; code: string; text: string } {
  if (typeof body.method === 'string') {
    return { frame: 'id' in body ? 'mcp.request' : 'mcp.notification', code: '', text: body.method };
  }
  const error = body.error as { code?: unknown; message?: unknown } | undefined;
  if (error && typeof error === 'object') {
    return {
      frame: 'mcp.error',
      code: typeof error.code === 'number' ? String(error.code) : '',
      text: typeof error.message === 'string' ? error.message : '',
    };
  }
  return { frame: 'mcp.result', code: '', text: '' };
}

/** Records one message as delivered to the client (`response` event, the exact JSON text). */
export function recordDelivered(
  session: McpAuditSession,
  requestId: number,
  text: string,
  body: Record<string, unknown>,
  summary?: string,
): void {
  const f = frameOf(body);
  session.audit.batched({
    case: 'response',
    value: create(ResponseSchema, {
      requestId,
      frame: f.frame,
      data: Buffer.from(text, 'utf8'),
      code: f.code,
      text: summary ?? f.text,
    }),
  });
}

/**
 * Records a client message the gateway refused before policy (malformed JSON, invalid JSON-RPC, a batch, routing
 * headers that disagree with the body, an unsupported revision): `request` kind `mcp.invalid` with the body as
 * received, and the JSON-RPC error the client got. Throws when the audit log refuses.
 */
export function recordRefusedMessage(session: McpAuditSession, body: string, errorText: string): void {
  const requestId = ++session.requests;
  session.lastUsed = Date.now();
  session.audit.batched({
    case: 'request',
    value: create(RequestSchema, { requestId, kind: 'mcp.invalid', text: body }),
  });
  recordDelivered(session, requestId, errorText, JSON.parse(errorText) as Record<string, unknown>);
}

/**
 * Hides the tools policy would refuse outright (approval-required tools stay listed) and flags changed definitions:
 * one `mcp_tool_changed` event per new definition. Returns a summary for the transcript.
 */
function filterToolList(result: Record<string, unknown>, ctx: RelayContext): string {
  const tools = result.tools;
  if (!Array.isArray(tools)) return '';
  const server = ctx.requestContext.server;
  for (const c of ctx.tools.observe(server, tools)) {
    ctx.session.log.warn({ tool: c.tool, changed: c.changed }, 'mcp tool definition changed');
    ctx.session.audit.batched({
      case: 'mcpToolChanged',
      value: create(McpToolChangedSchema, {
        requestId: ctx.requestId,
        server,
        tool: c.tool,
        pinnedDigest: c.pinnedDigest,
        digest: c.digest,
        changed: [...c.changed],
        pinnedJson: c.pinnedJson,
        definitionJson: c.definitionJson,
      }),
    });
  }
  const s = ctx.session;
  const hidden: string[] = [];
  result.tools = tools.filter((t: unknown) => {
    const name = (t as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return false;
    const r = ctx.decider.evaluate({
      audit: s.audit,
      request: listedToolRequest(name, ctx.requestContext),
      identity: s.identity,
      connection: s.connection,
      clientAddr: s.clientAddr,
      startedAt: s.startedAt,
    });
    const shown = r.decision.allow || r.decision.approval.required;
    if (!shown) hidden.push(name);
    return shown;
  });
  return `${(result.tools as unknown[]).length} tools listed${hidden.length > 0 ? `; hidden by policy: ${hidden.join(', ')}` : ''}`;
}

/**
 * One server-to-client message on its way to the client: parsed, tools/list filtered, masked, recorded, serialised.
 * Throws McpUpstreamError for anything that is not a JSON-RPC object (the exchange then fails with 502).
 */
export function relayServerMessage(text: string, ctx: RelayContext): string {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (cause) {
    throw new McpUpstreamError(
      McpErrorCode.upstreamProtocol,
      'the upstream sent a message that is not JSON',
      { cause },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new McpUpstreamError(
      McpErrorCode.upstreamProtocol,
      'the upstream sent something other than a JSON-RPC message',
    );
  }
  const body = value as Record<string, unknown>;
  let summary: string | undefined;
  const result = body.result;
  if (ctx.method === 'tools/list' && body.id === ctx.rpcId && result !== null && typeof result === 'object') {
    summary = filterToolList(result as Record<string, unknown>, ctx);
  }
  const masked = ctx.masker.mask(body);
  if (masked > 0) summary = `${summary ? `${summary}; ` : ''}${masked} value(s) masked`;
  const out = JSON.stringify(body);
  recordDelivered(ctx.session, ctx.requestId, out, body, summary);
  return out;
}
