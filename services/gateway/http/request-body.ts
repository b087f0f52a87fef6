import type { Readable } from 'node:stream';

/**
 * A request body as the proxy holds it before the decision:
 * - `buffered`: the whole body, at most `maxRequestBodyBytes` — policy input (JSON parsed), recorded, and bound to
 *   an approval through its sha256;
 * - `streamed`: a larger body (declared by `Content-Length`, or a chunked one that ran past the bound). Policy sees
 *   `body_inspected: false` (and may deny); the bytes are relayed upstream after the decision, chunk by chunk with
 *   backpressure, so memory stays at the bound plus one chunk whatever the size.
 */
export type RequestBody =
  | { readonly kind: 'buffered'; readonly bytes: Buffer }
  | {
      readonly kind: 'streamed';
      /** Bytes already read while looking for the end (at most the bound plus one chunk). */
      readonly head: Buffer;
      /** The rest of the body, paused until the upstream reads it. */
      readonly rest: Readable;
      /** `Content-Length` when the client declared one, else null (chunked). */
      readonly declaredBytes: number | null;
    };

/** What to do with a body over the bound: relay it uninspected, or refuse it (413). */
export type LargeBodyMode = 'stream' | 'refuse';

/** Thrown when a body is over the bound and `largeRequestBodies` is `refuse` (answered 413). */
export class RequestBodyTooLargeError extends Error {}

function declaredLength(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
}

/**
 * Reads a request body up to `bound` bytes. A body that ends within the bound is `buffered`; one declared or found
 * larger is `streamed` (or refused, by `mode`) — never held whole. Rejects when the client fails mid-body.
 */
export function readRequestBody(
  body: Readable,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  bound: number,
  mode: LargeBodyMode,
): Promise<RequestBody> {
  const declaredBytes = declaredLength(headers['content-length']);
  // RFC 9112 §6.3: a request with neither Content-Length nor Transfer-Encoding has no body.
  if (declaredBytes === 0 || (declaredBytes === null && headers['transfer-encoding'] === undefined))
    return Promise.resolve({ kind: 'buffered', bytes: Buffer.alloc(0) });
  if (declaredBytes !== null && declaredBytes > bound) {
    if (mode === 'refuse') return Promise.reject(new RequestBodyTooLargeError('request body too large'));
    body.pause();
    return Promise.resolve({ kind: 'streamed', head: Buffer.alloc(0), rest: body, declaredBytes });
  }
  return new Promise<RequestBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      n += chunk.length;
      if (n <= bound) return;
      done();
      body.pause();
      if (mode === 'refuse') reject(new RequestBodyTooLargeError('request body too large'));
      else resolve({ kind: 'streamed', head: Buffer.concat(chunks, n), rest: body, declaredBytes });
    };
    const onEnd = () => {
      done();
      resolve({ kind: 'buffered', bytes: Buffer.concat(chunks, n) });
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = () => {
      done();
      reject(new Error('the client closed the connection before its request body ended'));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}

/** The bytes of a streamed body for the upstream: the head already read, then the rest as it comes. */
export async function* streamedBytes(b: Extract<RequestBody, { kind: 'streamed' }>): AsyncGenerator<Buffer> {
  if (b.head.length > 0) yield b.head;
  for await (const chunk of b.rest) yield chunk as Buffer;
}
