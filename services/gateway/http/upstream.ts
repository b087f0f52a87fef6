import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { resolveSecret } from '../../shared/config/secrets.js';
import type { HttpConnectionConfig, HttpUpstreamAuth } from './config.js';
import { HttpProxyError, HttpProxyErrorCode } from './errors.js';
import type { RequestBody } from './request-body.js';
import { streamedBytes } from './request-body.js';
import type { ExchangeAbort } from './exchange-abort.js';
import { failedMidBody, markMidBody, UpstreamResponseHandler } from './upstream-response.js';
import type { UpstreamResponse } from './upstream-response.js';

export type { UpstreamBody, UpstreamResponse } from './upstream-response.js';
export { failedMidBody } from './upstream-response.js';

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

/** How long a resolved credential is reused before its secret is read again (a rotated file is picked up after). */
export const CREDENTIAL_REFRESH_MS = 1_000;

/**
 * The gateway's client of one upstream API: its own credential (secret references resolved at start, to fail early,
 * and again at most every `CREDENTIAL_REFRESH_MS`, so a rotated file is picked up), never the client's token; a
 * bounded pool of keep-alive connections (`upstream.connections`); bounded waits.
 */
export class HttpUpstream {
  readonly #base: URL;
  readonly #basePath: string;
  readonly #auth: HttpUpstreamAuth;
  readonly #pool: Pool;
  #credential: { headers: Record<string, string>; untilMs: number };

  constructor(c: HttpConnectionConfig['upstream']) {
    this.#base = new URL(c.url);
    this.#basePath = this.#base.pathname.replace(/\/+$/, '');
    this.#auth = c.auth;
    this.#pool = new Pool(this.#base.origin, {
      connections: c.connections,
      headersTimeout: c.headersTimeoutMs,
      connectTimeout: c.headersTimeoutMs,
      bodyTimeout: c.bodyTimeoutMs,
    });
    this.#credential = { headers: credentialOf(c.auth), untilMs: Date.now() + CREDENTIAL_REFRESH_MS };
  }

  /** The path and query sent upstream for a client target (`/customers?x=1` → `<base path>/customers?x=1`). */
  pathOf(target: string): string {
    return `${this.#basePath}${target.startsWith('/') ? target : `/${target}`}`;
  }

  /** The full upstream URL of a client target. */
  urlOf(target: string): string {
    return `${this.#base.origin}${this.pathOf(target)}`;
  }

  #credentialHeaders(): Record<string, string> {
    const now = Date.now();
    if (this.#credential.untilMs <= now)
      this.#credential = { headers: credentialOf(this.#auth), untilMs: now + CREDENTIAL_REFRESH_MS };
    return this.#credential.headers;
  }

  /**
   * Sends one request; a streamed body is relayed as it arrives (with its declared length, if any). `headers` is
   * the caller's own object (forwardedHeaders): the credential is added to it. A response body of at most
   * `bufferBytes` (by its Content-Length) comes back read whole, any other as a stream (UpstreamResponseHandler).
   * A failure of a buffered body after its headers is marked (`failedMidBody`).
   */
  send(
    method: string,
    target: string,
    headers: Record<string, string>,
    body: RequestBody,
    abort: ExchangeAbort,
    bufferBytes: number,
  ): Promise<UpstreamResponse> {
    let payload: Buffer | Readable | null;
    if (body.kind === 'streamed') {
      payload = Readable.from(streamedBytes(body), { objectMode: false });
      if (body.declaredBytes !== null) headers['content-length'] = String(body.declaredBytes);
    } else payload = body.bytes.length > 0 || (method !== 'GET' && method !== 'HEAD') ? body.bytes : null;
    Object.assign(headers, this.#credentialHeaders());
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const fail = (cause: unknown) => {
        const failure = upstreamFailure(cause);
        if (failedMidBody(cause)) markMidBody(failure);
        reject(failure);
      };
      this.#pool.dispatch(
        { path: this.pathOf(target), method: method, headers, body: payload },
        new UpstreamResponseHandler(bufferBytes, abort, { resolve, reject: fail }),
      );
    });
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** The client's headers relayed upstream: the allowlisted ones plus the body's type; never hop-by-hop or auth. */
export function forwardedHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  allow: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  const relay = (name: string) => {
    if (HOP_BY_HOP.has(name) || name === 'authorization' || name === 'cookie') return;
    const v = headers[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  };
  for (const name of allow) relay(name);
  relay('content-type');
  relay('content-encoding');
  return out;
}

const PLAIN_CONNECTION: ReadonlySet<string> = new Set(['keep-alive', 'close']);
const NONE_NAMED: ReadonlySet<string> = new Set();

/** The upstream's response headers relayed to the client: all but hop-by-hop ones (and those named in Connection). */
export function relayedResponseHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const connection = headers.connection;
  // Nearly every response says only `keep-alive` or `close`: no header named, nothing to parse.
  const connectionNamed =
    connection === undefined ||
    (typeof connection === 'string' && PLAIN_CONNECTION.has(connection.toLowerCase()))
      ? NONE_NAMED
      : new Set(
          String(connection)
            .split(',')
            .map((s) => s.trim().toLowerCase())
            .filter(Boolean),
        );
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    const name = k.toLowerCase();
    if (HOP_BY_HOP.has(name) || connectionNamed.has(name) || name === 'set-cookie') continue;
    out[name] = v;
  }
  return out;
}
