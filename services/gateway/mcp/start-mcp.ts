import type { ListenerParts } from '../gateway-listeners.js';
import { McpAuditSessions } from './audit-sessions.js';
import { mcpConnectionsFromConfig } from './connections.js';
import { McpListener } from './listener.js';
import { createMcpDecider } from './mcp-decider.js';
import { ToolRegistry } from './tool-registry.js';

/** The MCP listener of a gateway node when `listeners.mcp` is configured (nothing listens until `listen()`). */
export function buildMcpListener(p: ListenerParts): McpListener | undefined {
  const c = p.config.listeners.mcp;
  if (!c) return undefined;
  const log = p.log.child({ listener: 'mcp' });
  const m = p.metrics;
  return new McpListener({
    config: c,
    connections: mcpConnectionsFromConfig(p.config.connections, p.config.oidc, p.verifier),
    issuer: p.config.oidc.issuer,
    decider: createMcpDecider({
      policy: p.policy,
      approvals: p.approvals,
      onDecision: (r) => m.recordDecision('mcp', r),
      log,
    }),
    sessions: new McpAuditSessions({
      nodeId: p.config.nodeId,
      publisher: p.publisher,
      topic: p.config.kafka.topics.sessions,
      maxEventBytes: p.config.kafka.publisher.maxEventBytes,
      maxSessions: c.maxSessions,
      idleTimeoutMs: c.idleTimeoutMs,
      log,
      metrics: {
        opened: () => m.sessions.inc({ protocol: 'mcp' }),
        closed: () => m.sessions.dec({ protocol: 'mcp' }),
      },
      now: p.now,
    }),
    tools: new ToolRegistry(c.maxToolsPerConnection),
    log,
    refusals: p.refusals,
    metrics: { loginFailed: (code) => m.logins.inc({ protocol: 'mcp', code }) },
  });
}
