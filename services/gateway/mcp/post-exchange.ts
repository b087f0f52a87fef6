import { StringDecoder } from 'node:string_decoder';
import { logError } from '../../shared/log-error.js';
import type { McpAuditSession } from './audit-sessions.js';
import type { ClientWire } from './client-wire.js';
import type { McpConnection } from './connections.js';
import { McpErrorCode, McpUpstreamError } from './errors.js';
import type { JsonRpcId, McpMessage } from './jsonrpc-message.js';
import { RpcCode, rpcErrorText } from './jsonrpc-message.js';
import { isKnownNotification, KNOWN_REQUEST_METHODS, READ_ONLY_METHODS } from './known-methods.js';
import type { McpDecider } from './mcp-decider.js';
import { describeMcp, mcpRequestOf } from './mcp-request.js';
import type { McpRequestContext } from './mcp-request.js';
import { createMcpMasker } from './result-masker.js';
import { recordDelivered, relayServerMessage } from './server-messages.js';
import type { RelayContext } from './server-messages.js';
import { SseParser } from './sse.js';
import type { ToolRegistry } from './tool-registry.js';
import { relayedHeaders } from './upstream.js';
import type { UpstreamReply } from './upstream.js';

export type PostExchange = {
  readonly session: McpAuditSession;
  readonly connection: McpConnection;
  readonly message: McpMessage;
  readonly clientHeaders: Readonly<Record<string, string | string[] | undefined>>;
  readonly protocolVersion: string;
  readonly wire: ClientWire;
  readonly signal: AbortSignal;
  readonly decider: McpDecider;
  readonly tools: ToolRegistry;
  readonly maxUpstreamMessageBytes: number;
};

const rpcIdOf = (m: McpMessage): JsonRpcId | undefined => (m.type === 'notification' ? undefined : m.id);

/** Writes one JSON reply (and records it as delivered). */
function answer(x: PostExchange, requestId: number, status: number, text: string): void {
  try {
    recordDelivered(x.session, requestId, text, JSON.parse(text) as Record<string, unknown>);
  } catch (err) {
    logError(x.session.log, err, 'gateway answer not recorded', { level: 'warn' });
  }
  x.wire.final(status, text);
}

/** The gateway's own JSON-RPC error for this message (a notification gets an HTTP error status, no JSON-RPC id). */
function refuse(x: PostExchange, requestId: number, code: number, message: string, data?: unknown): void {
  const isRequest = x.message.type === 'request';
  const status = isRequest ? 200 : code === RpcCode.denied ? 403 : 503;
  answer(x, requestId, status, rpcErrorText(rpcIdOf(x.message) ?? null, code, message, data));
}

/**
 * One POSTed client message after authentication and validation: policy (held for approval when it says so),
 * forwarded upstream with the gateway's credentials (the message as parsed, re-serialised: the upstream acts on
 * exactly what policy saw), and every server message relayed back masked and recorded, as JSON or as SSE.
 */
export async function runPostExchange(x: PostExchange): Promise<void> {
  const { session, message } = x;
  const requestId = ++session.requests;
  session.lastUsed = Date.now();
  const requestContext: McpRequestContext = {
    server: x.connection.name,
    protocolVersion: x.protocolVersion,
    toolChanged: (tool) => x.tools.isChanged(x.connection.name, tool),
  };
  const request = mcpRequestOf(message, requestContext);
  const forwarded = JSON.stringify(message.body);
  const method = message.type === 'response' ? '' : message.method;
  const kind = message.type === 'response' ? 'mcp.response' : `mcp.${method}`;
  if (
    (message.type === 'request' && !KNOWN_REQUEST_METHODS.has(method)) ||
    (message.type === 'notification' && !isKnownNotification(method))
  ) {
    // Recorded like any request; never forwarded: policy cannot reason about a method it does not know.
    try {
      x.decider.recordUndecided({ audit: session.audit, requestId, kind, text: forwarded, request });
    } catch {
      refuse(x, requestId, RpcCode.auditUnavailable, 'gatehouse: audit log unavailable');
      return;
    }
    refuse(x, requestId, RpcCode.methodNotFound, `Method not found: ${method} (not relayed by the gateway)`);
    return;
  }
  session.held++;
  let verdict;
  try {
    verdict = await x.decider.decide({
      audit: session.audit,
      requestId,
      kind,
      text: forwarded,
      display: describeMcp(request.mcp),
      request,
      readOnly: message.type === 'request' && READ_ONLY_METHODS.has(method),
      identity: session.identity,
      connection: session.connection,
      clientAddr: session.clientAddr,
      startedAt: session.startedAt,
      signal: x.signal,
      log: session.log,
      onHeld: (h) => {
        // Tell the waiting client why and where, as a log notification ahead of the final message (when it reads SSE).
        if (message.type !== 'request' || !x.wire.stream()) return;
        const notice = JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/message',
          params: {
            level: 'notice',
            logger: 'gatehouse',
            data: `gatehouse: approval required (${h.reasons.join('; ')}); waiting for approval ${h.approvalId} at ${h.approveUrl}`,
          },
        });
        try {
          recordDelivered(session, requestId, notice, JSON.parse(notice) as Record<string, unknown>);
        } catch (err) {
          logError(session.log, err, 'approval notice not recorded', { level: 'warn' });
        }
        void x.wire.event(notice);
      },
    });
  } finally {
    session.held--;
    session.lastUsed = Date.now();
  }
  if (x.signal.aborted) return;
  if (!verdict.allow) {
    const code = verdict.unavailable ? RpcCode.auditUnavailable : RpcCode.denied;
    refuse(x, requestId, code, `gatehouse: denied: ${verdict.reasons.join('; ')}`, {
      reasons: verdict.reasons,
      policyRevision: verdict.revision,
    });
    return;
  }
  const relay: RelayContext = {
    session,
    requestId,
    method,
    rpcId: rpcIdOf(message),
    masker: createMcpMasker(verdict.decision?.mask.fields ?? [], verdict.decision?.mask.detectors ?? []),
    requestContext,
    decider: x.decider,
    tools: x.tools,
  };
  let reply: UpstreamReply;
  try {
    reply = await x.connection.upstream.send('POST', relayedHeaders(x.clientHeaders), forwarded, x.signal);
  } catch (err) {
    logError(session.log, err, 'upstream failed', { level: 'warn' });
    refuse(x, requestId, RpcCode.upstream, 'gatehouse: the upstream MCP server is unavailable');
    return;
  }
  try {
    await relayReply(x, reply, relay);
  } catch (err) {
    reply.body.destroy();
    logError(session.log, err, 'relay failed', { level: 'warn' });
    if (!x.wire.headersSent)
      refuse(x, requestId, RpcCode.upstream, 'gatehouse: the upstream MCP server sent an invalid reply');
    else x.wire.destroy();
  }
}

async function relayReply(x: PostExchange, reply: UpstreamReply, relay: RelayContext): Promise<void> {
  const headers: Record<string, string> = {};
  if (reply.sessionId !== undefined) headers['mcp-session-id'] = reply.sessionId;
  if (reply.status === 401 || reply.status === 403) {
    await reply.body.dump();
    relay.session.log.warn({ status: reply.status }, 'the upstream refused the gateway credentials');
    throw new McpUpstreamError(
      McpErrorCode.upstreamUnavailable,
      'the upstream refused the gateway credentials',
    );
  }
  if (reply.contentType.startsWith('text/event-stream')) {
    x.wire.stream(headers, true);
    const parser = new SseParser(x.maxUpstreamMessageBytes);
    const decoder = new StringDecoder('utf8');
    for await (const chunk of reply.body) {
      for (const e of parser.push(decoder.write(chunk as Buffer))) {
        await x.wire.event(relayServerMessage(e.data, relay), e.id, e.event);
      }
    }
    x.wire.empty(200);
    return;
  }
  const text = await readBounded(reply, x.maxUpstreamMessageBytes);
  if (text.trim() === '') {
    x.wire.empty(reply.status, headers);
    return;
  }
  if (!reply.contentType.startsWith('application/json')) {
    throw new McpUpstreamError(
      McpErrorCode.upstreamProtocol,
      `unexpected upstream content type ${reply.contentType}`,
    );
  }
  x.wire.final(reply.status, relayServerMessage(text, relay), headers);
}

async function readBounded(reply: UpstreamReply, max: number): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of reply.body) {
    n += (chunk as Buffer).length;
    if (n > max)
      throw new McpUpstreamError(McpErrorCode.upstreamProtocol, `an upstream reply exceeds ${max} bytes`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}
