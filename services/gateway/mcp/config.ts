import { z } from 'zod';
import type { Frozen } from '../../shared/config/load-config.js';
import { secretRefSchema } from '../../shared/config/secrets.js';
import { listenFields } from '../../shared/config/sections.js';

/**
 * The MCP parts of the gateway configuration (kept in this one file; services/gateway/config.ts only plugs them in):
 * the `listeners.mcp` section and the `protocol: mcp` connection.
 */

const connectionName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _');

/** How the gateway authenticates itself to the upstream MCP server (never with the client's token). */
const mcpUpstreamAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  /** `Authorization: Bearer <token>`; the token is a secret reference. */
  z.strictObject({ type: z.literal('bearer'), token: secretRefSchema }),
  /** A custom header (e.g. `X-Api-Key`) whose value is a secret reference. */
  z.strictObject({
    type: z.literal('header'),
    name: z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'),
    value: secretRefSchema,
  }),
]);

export const mcpUpstreamSchema = z.strictObject({
  /** The upstream's Streamable HTTP endpoint, e.g. `http://127.0.0.1:12380/mcp`. */
  url: z.url({ protocol: /^https?$/ }),
  auth: mcpUpstreamAuthSchema.default({ type: 'none' }),
  /** Most time for the upstream's response headers, and between two body chunks. */
  timeoutMs: z.number().int().min(1).default(30_000),
});

export const mcpConnectionSchema = z.strictObject({
  name: connectionName,
  protocol: z.literal('mcp'),
  upstream: mcpUpstreamSchema,
  /**
   * Token audience(s) accepted for this connection (RFC 8707: clients should ask for the resource URL). Default: the
   * gateway's `oidc.audience`. A token without one of these is refused with 401 `invalid_token`.
   */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  tags: z.record(z.string(), z.string()).default({}),
});

export const mcpListenerSchema = z
  .strictObject({
    ...listenFields(8480),
    /** PEM certificate and key files. Required unless `allowPlaintext`. */
    tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
    /** Accept plain HTTP (tokens then cross the network in clear): local development only. */
    allowPlaintext: z.boolean().default(false),
    /**
     * The gateway's public origin as clients reach it (`https://mcp.example.com`; a path is ignored): resource
     * identifiers (`<origin>/mcp/<connection>`) and RFC 9728 metadata URLs are built from it. Default:
     * `http(s)://<host>:<port>` of this listener.
     */
    publicUrl: z.url().optional(),
    /** Largest request body; larger ones get 413 and a JSON-RPC error, unread. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    /** Largest single upstream message (a JSON body or one SSE event); larger ones fail the exchange (502). */
    maxUpstreamMessageBytes: z
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024),
    /** Audit sessions (one per token and connection) open on this node at once; beyond, the idlest is closed. */
    maxSessions: z.number().int().min(1).default(10_000),
    /** An audit session without a message this long is closed (`session.closed`). */
    idleTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .default(5 * 60_000),
    /** Tool definitions remembered per connection for change detection; more are not pinned (and flagged). */
    maxToolsPerConnection: z.number().int().min(1).default(1000),
    /**
     * Browser origins allowed to call the endpoint (DNS-rebinding protection, as the MCP transport requires): a request
     * with an `Origin` header not listed here gets 403. Agents and CLI clients send no Origin.
     */
    allowedOrigins: z.array(z.url()).default([]),
  })
  .refine((l) => l.tls !== undefined || l.allowPlaintext, {
    path: ['tls'],
    message: 'TLS certificate and key are required (or set allowPlaintext: true for local development)',
  });

export type McpListenerConfig = Frozen<z.output<typeof mcpListenerSchema>>;
export type McpConnectionConfig = Frozen<z.output<typeof mcpConnectionSchema>>;
export type McpUpstreamAuth = Frozen<z.output<typeof mcpUpstreamAuthSchema>>;
