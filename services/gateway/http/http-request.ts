import { createHash } from 'node:crypto';
import { deepFreeze } from '../pipeline/frozen-json.js';
import { fingerprint } from '../policy/fingerprint.js';
import type { HttpRequest, HttpRequestDetail } from '../policy/types.js';
import type { RequestBody } from './request-body.js';

/** Methods that cannot change state (RFC 9110 safe methods): their events may be batched. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Most body bytes a reviewer is shown (the approval is bound to the whole body through its sha256). */
export const REVIEW_BODY_CHARS = 4096;

export type IncomingHttp = {
  readonly method: string;
  /** Path and query below the connection prefix, as sent (`/customers?limit=2`). */
  readonly target: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: RequestBody;
};

const single = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v.join(', ') : v;

/** `application/json`, `application/merge-patch+json`, … */
export function isJsonType(contentType: string): boolean {
  return contentType === 'application/json' || /^application\/[\w.+-]*\+json$/.test(contentType);
}

/** The media type of a Content-Type header value, lower case, without parameters. */
export function mediaType(value: string | undefined): string {
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray % stays as written: policy sees what the upstream will
  }
}

/**
 * The policy's view of one request (`input.request.http`): pure. A JSON body that does not parse is given as null
 * with its bytes counted (policy can refuse it); the upstream still gets the exact bytes.
 */
export function httpRequestOf(x: IncomingHttp, policyHeaders: readonly string[]): HttpRequest {
  const url = new URL(x.target, 'http://gateway.invalid');
  const segments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  const query: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
  const headers: Record<string, string> = {};
  for (const name of policyHeaders) {
    const v = single(x.headers[name]);
    if (v !== undefined) headers[name] = v;
  }
  const inspected = x.body.kind === 'buffered' ? x.body.bytes : null;
  const contentType =
    inspected === null || inspected.length > 0 ? mediaType(single(x.headers['content-type'])) : '';
  let json: unknown = null;
  if (inspected !== null && isJsonType(contentType)) {
    try {
      json = JSON.parse(inspected.toString('utf8')) as unknown;
    } catch {
      json = null;
    }
  }
  const http: HttpRequestDetail = {
    method: x.method.toUpperCase(),
    path: `/${segments.join('/')}`,
    segments,
    query,
    headers,
    content_type: contentType,
    json,
    body_bytes: inspected !== null ? inspected.length : declaredOf(x.body),
    body_inspected: inspected !== null,
  };
  const bodyDigest =
    inspected !== null
      ? createHash('sha256').update(inspected).digest('hex')
      : `streamed ${declaredOf(x.body) ?? 'chunked'}`;
  return {
    kind: 'http',
    fingerprint: fingerprint('http', `${http.method}\n${url.pathname}${url.search}\n${bodyDigest}`),
    http,
  };
}

/**
 * The policy's view of requests without a body, remembered by everything `httpRequestOf` reads for them — method,
 * target (path and query as sent) and the values of the policy headers — so a client repeating a request gets the
 * same (frozen) object back: parsed once, its JSON made once for the decision memo and the `request` event.
 * Requests with a body are never remembered. Bounded by `maxEntries` (oldest out first; 0: off).
 */
export class HttpRequestCache {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, HttpRequest>();

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `httpRequestOf(x, policyHeaders)`, from the cache when `x` has no body. */
  requestOf(x: IncomingHttp, policyHeaders: readonly string[]): HttpRequest {
    if (this.#maxEntries === 0 || x.body.kind !== 'buffered' || x.body.bytes.length > 0)
      return httpRequestOf(x, policyHeaders);
    // Neither a method, a request target nor a header value can hold a line feed, NUL or \u0001 (RFC 9110 §5.5).
    let key = `${x.method}\n${x.target}`;
    for (const name of policyHeaders) key += `\u0000${single(x.headers[name]) ?? '\u0001'}`;
    const hit = this.#entries.get(key);
    if (hit !== undefined) return hit;
    const request = deepFreeze(httpRequestOf(x, policyHeaders));
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, request);
    return request;
  }
}

/** NUL and the C0 controls other than tab, line feeds and carriage return: a binary body. */
function hasControlBytes(body: Buffer): boolean {
  for (const b of body) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) return true;
  return false;
}

const declaredOf = (b: RequestBody): number | null => (b.kind === 'streamed' ? b.declaredBytes : null);

/** The line that stands for a body the proxy did not read (larger than `maxRequestBodyBytes`). */
function streamedLine(b: Extract<RequestBody, { kind: 'streamed' }>): string {
  const size = b.declaredBytes === null ? 'chunked, length unknown' : `${b.declaredBytes} bytes declared`;
  return `<body not inspected: streamed, ${size}>`;
}

/** The body as recorded and shown: UTF-8 text when it decodes cleanly, else a size and digest line. */
export function bodyText(b: RequestBody): string {
  if (b.kind === 'streamed') return streamedLine(b);
  const body = b.bytes;
  if (body.length === 0) return '';
  const text = body.toString('utf8');
  if (!text.includes('\uFFFD') && !hasControlBytes(body)) return text;
  return `<${body.length} bytes binary, sha256 ${createHash('sha256').update(body).digest('hex')}>`;
}

/** `Request.text`: the request line, then the body (as text) after a blank line. */
export function requestText(x: IncomingHttp): string {
  const line = `${x.method.toUpperCase()} ${x.target}`;
  const body = bodyText(x.body);
  return body === '' ? line : `${line}\n\n${body}`;
}

/**
 * What a reviewer sees and the approval is bound to: connection, request line, body digest and the start of the
 * body. The digest covers the whole body, so an approval never releases a request with other bytes. A streamed
 * body has no digest before it is sent: the reviewer is told the approval does not bind its bytes.
 */
export function reviewTextOf(connection: string, x: IncomingHttp): string {
  const line = `${connection}: ${x.method.toUpperCase()} ${x.target}`;
  if (x.body.kind === 'streamed')
    return `${line}\n${streamedLine(x.body)}: this approval does not bind the body's bytes`;
  const bytes = x.body.bytes;
  if (bytes.length === 0) return line;
  const digest = createHash('sha256').update(bytes).digest('hex');
  const body = bodyText(x.body);
  const shown = body.length > REVIEW_BODY_CHARS ? `${body.slice(0, REVIEW_BODY_CHARS)}…` : body;
  return `${line}\nbody sha256 ${digest} (${bytes.length} bytes)\n${shown}`;
}
