import { once } from 'node:events';
import type { Exchange } from './proxy-exchange.js';
import { httpAuditUnavailable, HttpProxyError, HttpProxyErrorCode } from './errors.js';
import { isJsonType, mediaType } from './http-request.js';
import { recordBody, recordHead } from './response-events.js';
import type { HttpMasker } from './response-masker.js';
import type { UpstreamBody, UpstreamResponse } from './upstream.js';
import { relayedResponseHeaders } from './upstream.js';

/** What the relay adds to the exchange (a separate object: spreading the exchange into a new one per request cost 3 % of the proxy's CPU). */
export type Relay = {
  readonly requestId: number;
  readonly method: string;
  readonly masker: HttpMasker;
  readonly response: UpstreamResponse;
};

const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** `mediaType` of the last Content-Type seen, kept: an API answers with the same one again and again. */
let lastContentType: { value: string | undefined; media: string } = { value: undefined, media: '' };
function responseMediaType(value: string | undefined): string {
  if (value !== lastContentType.value) lastContentType = { value, media: mediaType(value) };
  return lastContentType.media;
}

const tooLargeToMask = (limit: number) =>
  new HttpProxyError(
    HttpProxyErrorCode.unmaskable,
    `response body larger than ${limit} bytes must be masked`,
  );

/** Reads a whole body up to `limit` bytes; more, and the response cannot be masked. */
async function readBounded(body: UpstreamBody, limit: number): Promise<Buffer> {
  if (body.kind === 'buffered') {
    if (body.bytes.length > limit) throw tooLargeToMask(limit);
    return body.bytes;
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body.stream) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > limit) throw tooLargeToMask(limit);
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}

/** Masks a buffered body: JSON by field path and detectors, anything else (text) by the detectors. */
function maskBody(masker: HttpMasker, contentType: string, body: Buffer): Buffer {
  const text = body.toString('utf8');
  if (isJsonType(contentType)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch (cause) {
      throw new HttpProxyError(
        HttpProxyErrorCode.unmaskable,
        'a JSON response that must be masked does not parse',
        {
          cause,
        },
      );
    }
    return Buffer.from(JSON.stringify(masker.maskJson(parsed)));
  }
  return Buffer.from(masker.maskText(text));
}

function record(fn: () => void): void {
  try {
    fn();
  } catch (cause) {
    throw httpAuditUnavailable(cause);
  }
}

/**
 * Relays the upstream's response. When the decision masks and the body is JSON or text, the body is read whole
 * (bounded by `maxMaskedResponseBytes`; compressed bodies cannot be masked), masked, and sent with its new length.
 * Other types (binary: images, archives, octet streams) are never masked. A body no longer than
 * `recordResponseBytes` (by its Content-Length) arrives read whole (`buffered`, see UpstreamResponseHandler) and is
 * sent with its head in one write; any other is streamed through with backpressure (memory bounded by the streams' high-water marks, however large the body and
 * however slow the client), and its first `recordResponseBytes` are recorded.
 */
export async function relayResponse(x: Exchange, r: Relay): Promise<void> {
  const { res, session, config } = x;
  const { response: upstream, requestId } = r;
  const headers = relayedResponseHeaders(upstream.headers);
  const contentType = responseMediaType(single(upstream.headers['content-type']));
  const noBody = r.method === 'HEAD' || upstream.status === 204 || upstream.status === 304;
  const recorded = config.recordResponseHeaders;
  // A body without a type counts as text: an unlabelled JSON body must not slip past the masks.
  const maskable = contentType === '' || isJsonType(contentType) || contentType.startsWith('text/');
  if (r.masker.active && !noBody && maskable) {
    if (upstream.headers['content-encoding'] !== undefined)
      throw new HttpProxyError(HttpProxyErrorCode.unmaskable, 'a compressed response cannot be masked');
    const masked = maskBody(
      r.masker,
      contentType,
      await readBounded(upstream.body, config.maxMaskedResponseBytes),
    );
    headers['content-length'] = String(masked.length);
    record(() => recordHead(session.audit, requestId, upstream.status, headers, recorded));
    res.writeHead(upstream.status, headers);
    res.end(masked);
    record(() => recordBody(session.audit, requestId, masked, masked.length));
    return;
  }
  const length = single(upstream.headers['content-length']);
  if (length !== undefined) headers['content-length'] = length;
  const limit = config.recordResponseBytes;
  if (upstream.body.kind === 'buffered') {
    // Small and wholly recorded anyway: head and body in one write (the server's socket is corked while the
    // response is written: one writev of the head and the Buffer; a latin1 string joined to the head saved no syscall
    // and added a copy).
    const body = upstream.body.bytes;
    record(() => recordHead(session.audit, requestId, upstream.status, headers, recorded));
    res.writeHead(upstream.status, headers);
    res.end(body);
    record(() => recordBody(session.audit, requestId, body, body.length));
    return;
  }
  record(() => recordHead(session.audit, requestId, upstream.status, headers, recorded));
  res.writeHead(upstream.status, headers);
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let total = 0;
  try {
    for await (const chunk of upstream.body.stream) {
      const b = chunk as Buffer;
      total += b.length;
      if (keptBytes < limit) {
        const part = b.subarray(0, limit - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      if (!res.write(b)) await once(res, 'drain', { signal: x.abort.signal });
    }
    res.end();
  } finally {
    try {
      recordBody(session.audit, requestId, Buffer.concat(kept, keptBytes), total);
    } catch (err) {
      session.log.warn({ err: { message: (err as Error).message } }, 'response body not recorded');
    }
  }
}
