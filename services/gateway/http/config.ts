import { z } from 'zod';
import type { Frozen } from '../../shared/config/load-config.js';
import { secretRefSchema } from '../../shared/config/secrets.js';

/**
 * The HTTP reverse proxy's parts of the gateway configuration (kept in this one file; services/gateway/config.ts
 * only plugs them in): the `listeners.http` section and the `protocol: http` connection.
 */

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name');

/** How the gateway authenticates itself to the upstream API (never with the client's token). */
const httpUpstreamAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  /** `Authorization: Bearer <token>`. */
  z.strictObject({ type: z.literal('bearer'), token: secretRefSchema }),
  /** `Authorization: Basic base64(user:password)`. */
  z.strictObject({ type: z.literal('basic'), user: z.string().min(1), password: secretRefSchema }),
  /** A custom header (e.g. `X-Api-Key`) whose value is a secret reference. */
  z.strictObject({ type: z.literal('header'), name: headerName, value: secretRefSchema }),
]);

export const httpConnectionSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  protocol: z.literal('http'),
  upstream: z.strictObject({
    /** Base URL; the client's path below `/<connection>` is appended to its path. */
    url: z.url({ protocol: /^https?$/ }),
    auth: httpUpstreamAuthSchema.default({ type: 'none' }),
    /** Most keep-alive connections to this upstream; more requests at once wait for one (bounded by the timeouts). */
    connections: z.number().int().min(1).max(4096).default(128),
    /** Most time to connect and for the response headers (then 504). */
    headersTimeoutMs: z.number().int().min(1).default(30_000),
    /** Most time between two body chunks of the upstream's response (then the response is cut). */
    bodyTimeoutMs: z.number().int().min(1).default(60_000),
  }),
  tags: z.record(z.string(), z.string()).default({}),
});

export const httpListenerSchema = z
  .strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8443),
    /** PEM certificate and key files. Required unless `allowPlaintext`. */
    tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
    /** Accept plain HTTP (tokens then cross the network in clear): local development only. */
    allowPlaintext: z.boolean().default(false),
    /**
     * Largest request body read whole before policy runs (policy input, recorded, bound to an approval by its
     * sha256). A larger one is handled by `largeRequestBodies`.
     */
    maxRequestBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    /**
     * A body over `maxRequestBodyBytes`: `stream` relays it upstream after the decision, chunk by chunk, with policy
     * told `body_inspected: false` (so policy can deny it); `refuse` answers 413.
     */
    largeRequestBodies: z.enum(['stream', 'refuse']).default('stream'),
    /** Largest JSON response the gateway buffers to mask by field path; a larger one that must be masked → 502. */
    maxMaskedResponseBytes: z
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024),
    /** Bytes of a streamed (unmasked) response body recorded in `response` events; the rest is counted only. */
    recordResponseBytes: z
      .number()
      .int()
      .min(0)
      .default(64 * 1024),
    /** Most time a held request waits for its approval before 503 (the policy's ttl also bounds it). */
    maxHoldMs: z
      .number()
      .int()
      .min(1000)
      .default(5 * 60_000),
    /** Request headers (lower case) given to policy as `input.request.http.headers` and recorded. */
    policyHeaders: z
      .array(z.string().toLowerCase())
      .default(['accept', 'content-type', 'content-length', 'user-agent', 'x-request-id', 'idempotency-key']),
    /** Request headers (lower case) relayed upstream besides the body headers; everything else stays here. */
    forwardHeaders: z
      .array(z.string().toLowerCase())
      .default([
        'accept',
        'accept-language',
        'user-agent',
        'x-request-id',
        'idempotency-key',
        'if-match',
        'if-none-match',
      ]),
    /** Response headers (lower case) recorded in `response` events. */
    recordResponseHeaders: z
      .array(z.string().toLowerCase())
      .default(['content-type', 'content-length', 'location', 'etag', 'retry-after']),
    /**
     * Most time a verified bearer token is trusted without verifying its signature again (never past its `exp`;
     * 0: every request). Bounded by `maxSessions` tokens.
     */
    tokenReuseMs: z.number().int().min(0).max(300_000).default(60_000),
    /**
     * Bodiless requests whose parsed policy view (`input.request`) is remembered, by method, target and policy
     * headers (http-request.ts `HttpRequestCache`); 0: parse every request.
     */
    requestCacheEntries: z.number().int().min(0).max(1_000_000).default(10_000),
    /** Audit sessions (one per client connection and token) open on this node at once; beyond → 503. */
    maxSessions: z.number().int().min(1).default(10_000),
  })
  .refine((l) => l.tls !== undefined || l.allowPlaintext, {
    path: ['tls'],
    message: 'TLS certificate and key are required (or set allowPlaintext: true for local development)',
  });

export type HttpListenerConfig = Frozen<z.output<typeof httpListenerSchema>>;
export type HttpConnectionConfig = Frozen<z.output<typeof httpConnectionSchema>>;
export type HttpUpstreamAuth = Frozen<z.output<typeof httpUpstreamAuthSchema>>;
