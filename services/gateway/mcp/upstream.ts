import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { resolveSecret } from '../../shared/config/secrets.js';
import type { McpUpstreamAuth } from './config.js';
import { McpErrorCode, McpUpstreamError } from './errors.js';

/** Client headers relayed upstream (everything else, `Authorization` above all, stays at the gateway). */
const RELAYED = new Set([
  'accept',
  'content-type',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'mcp-session-id',
  'last-event-id',
]);

export function relayedHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (v === undefined || !(RELAYED.has(name) || name.startsWith('mcp-param-'))) continue;
    out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export type UpstreamReply = {
  readonly status: number;
  readonly contentType: string;
  readonly sessionId: string | undefined;
  readonly body: Dispatcher.ResponseData['body'];
};

/**
 * The gateway's client of one upstream MCP server: its own credential (a secret reference resolved at start and
 * on every request, so a rotated file is picked up), never the client's token; bounded waits.
 */
export class McpUpstream {
  readonly url: string;
  readonly #auth: McpUpstreamAuth;
  readonly #timeoutMs: number;
  readonly #agent: Agent;

  constructor(url: string, auth: McpUpstreamAuth, timeoutMs: number) {
    this.url = url;
    this.#auth = auth;
    this.#timeoutMs = timeoutMs;
    this.#agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs });
    this.#credential(); // fail at start, not at the first call
  }

  #credential(): Record<string, string> {
    switch (this.#auth.type) {
      case 'none':
        return {};
      case 'bearer':
        return { authorization: `Bearer ${resolveSecret(this.#auth.token)}` };
      case 'header':
        return { [this.#auth.name.toLowerCase()]: resolveSecret(this.#auth.value) };
      default: {
        const unexpected: never = this.#auth;
        throw new Error(`unexpected upstream auth ${JSON.stringify(unexpected)}`);
      }
    }
  }

  async send(
    method: 'POST' | 'GET' | 'DELETE',
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<UpstreamReply> {
    try {
      const res = await request(this.url, {
        method,
        headers: { ...headers, ...this.#credential() },
        ...(body !== undefined ? { body } : {}),
        dispatcher: this.#agent,
        signal,
      });
      const header = (n: string): string | undefined => {
        const v = res.headers[n];
        return Array.isArray(v) ? v[0] : v;
      };
      return {
        status: res.statusCode,
        contentType: (header('content-type') ?? '').toLowerCase(),
        sessionId: header('mcp-session-id'),
        body: res.body,
      };
    } catch (cause) {
      throw new McpUpstreamError(
        McpErrorCode.upstreamUnavailable,
        `the upstream MCP server is unavailable (${(cause as { code?: string }).code ?? 'error'})`,
        { cause },
      );
    }
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}
