import { createHash } from 'node:crypto';
import { fingerprint } from '../policy/fingerprint.js';
import type { HttpRequest, HttpRequestDetail } from '../policy/types.js';

/** Methods that cannot change state (RFC 9110 safe methods): their events may be batched. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Most body bytes a reviewer is shown (the approval is bound to the whole body through its sha256). */
export const REVIEW_BODY_CHARS = 4096;

export type IncomingHttp = {
  readonly method: string;
  /** Path and query below the connection prefix, as sent (`/customers?limit=2`). */
  readonly target: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
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
  const contentType = x.body.length > 0 ? mediaType(single(x.headers['content-type'])) : '';
  let json: unknown = null;
  if (isJsonType(contentType)) {
    try {
      json = JSON.parse(x.body.toString('utf8')) as unknown;
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
    body_bytes: x.body.length,
  };
  const bodyDigest = createHash('sha256').update(x.body).digest('hex');
  return {
    kind: 'http',
    fingerprint: fingerprint('http', `${http.method}\n${url.pathname}${url.search}\n${bodyDigest}`),
    http,
  };
}

/** NUL and the C0 controls other than tab, line feeds and carriage return: a binary body. */
function hasControlBytes(body: Buffer): boolean {
  for (const b of body) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) return true;
  return false;
}

/** The body as recorded and shown: UTF-8 text when it decodes cleanly, else a size and digest line. */
export function bodyText(body: Buffer): string {
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
 * body. The digest covers the whole body, so an approval never releases a request with other bytes.
 */
export function reviewTextOf(connection: string, x: IncomingHttp): string {
  const line = `${connection}: ${x.method.toUpperCase()} ${x.target}`;
  if (x.body.length === 0) return line;
  const digest = createHash('sha256').update(x.body).digest('hex');
  const body = bodyText(x.body);
  const shown = body.length > REVIEW_BODY_CHARS ? `${body.slice(0, REVIEW_BODY_CHARS)}…` : body;
  return `${line}\nbody sha256 ${digest} (${x.body.length} bytes)\n${shown}`;
}
