import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { resolveSecret } from '../../shared/config/secrets.js';
import type { HttpConnectionConfig, HttpUpstreamAuth } from './config.js';
import { HttpProxyError, HttpProxyErrorCode } from './errors.js';
import type { RequestBody } from './request-body.js';
import { streamedBytes } from './request-body.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the gateway owns: never relayed in either direction. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

export type UpstreamResponse = {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Dispatcher.ResponseData['body'];
};

function credentialOf(auth: HttpUpstreamAuth): Record<string, string> {
  switch (auth.type) {
    case 'none':
      return {};
    case 'bearer':
      return { authorization: `Bearer ${resolveSecret(auth.token)}` };
    case 'basic':
      return {
        authorization: `Basic ${Buffer.from(`${auth.user}:${resolveSecret(auth.password)}`).toString('base64')}`,
      };
    case 'header':
      return { [auth.name.toLowerCase()]: resolveSecret(auth.value) };
    default: {
      const unexpected: never = auth;
      throw new Error(`unexpected upstream auth ${JSON.stringify(unexpected)}`);
    }
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * An undici failure as the proxy's error (504 for a timeout, else 502). The message names only undici's code: never
 * the upstream's address, the credential or a payload.
 */
export function upstreamFailure(cause: unknown): HttpProxyError {
  if (cause instanceof HttpProxyError) return cause;
  const code = (cause as { code?: string } | null)?.code ?? 'error';
  return TIMEOUT_CODES.has(code)
    ? new HttpProxyError(
        HttpProxyErrorCode.upstreamTimeout,
        `the upstream did not answer in time (${code})`,
        {
          cause,
        },
      )
    : new HttpProxyError(HttpProxyErrorCode.upstreamUnavailable, `the upstream is unavailable (${code})`, {
        cause,
      });
}

/**
 * The gateway's client of one upstream API: its own credential (secret references resolved at start, to fail early,
 * and again on every request, so a rotated file is picked up), never the client's token; bounded waits.
 */
export class HttpUpstream {
  readonly #base: URL;
  readonly #auth: HttpUpstreamAuth;
  readonly #agent: Agent;

  constructor(c: HttpConnectionConfig['upstream']) {
    this.#base = new URL(c.url);
    this.#auth = c.auth;
    this.#agent = new Agent({
      headersTimeout: c.headersTimeoutMs,
      connectTimeout: c.headersTimeoutMs,
      bodyTimeout: c.bodyTimeoutMs,
    });
    credentialOf(c.auth);
  }

  /** The upstream URL of a client target (`/customers?x=1` → `<base path>/customers?x=1`). */
  urlOf(target: string): string {
    const base = this.#base.pathname.replace(/\/+$/, '');
    return `${this.#base.origin}${base}${target.startsWith('/') ? target : `/${target}`}`;
  }

  /** Sends one request; a streamed body is relayed as it arrives (with its declared length, if any). */
  async send(
    method: string,
    target: string,
    headers: Record<string, string>,
    body: RequestBody,
    signal: AbortSignal,
  ): Promise<UpstreamResponse> {
    const withBody =
      body.kind === 'streamed'
        ? {
            body: Readable.from(streamedBytes(body), { objectMode: false }),
            headers:
              body.declaredBytes === null
                ? headers
                : { ...headers, 'content-length': String(body.declaredBytes) },
          }
        : { body: body.bytes.length > 0 || !['GET', 'HEAD'].includes(method) ? body.bytes : null, headers };
    try {
      const res = await request(this.urlOf(target), {
        method,
        headers: { ...withBody.headers, ...credentialOf(this.#auth) },
        body: withBody.body,
        dispatcher: this.#agent,
        signal,
      });
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = v;
      return { status: res.statusCode, headers: out, body: res.body };
    } catch (cause) {
      throw upstreamFailure(cause);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** The client's headers relayed upstream: the allowlisted ones plus the body's type; never hop-by-hop or auth. */
export function forwardedHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  allow: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...allow, 'content-type', 'content-encoding']) {
    if (HOP_BY_HOP.has(name) || name === 'authorization' || name === 'cookie') continue;
    const v = headers[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** The upstream's response headers relayed to the client: all but hop-by-hop ones (and those named in Connection). */
export function relayedResponseHeaders(
  headers: Readonly<Record<string, string | string[]>>,
): Record<string, string | string[]> {
  const connectionNamed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (HOP_BY_HOP.has(name) || connectionNamed.has(name) || name === 'set-cookie') continue;
    out[name] = v;
  }
  return out;
}
