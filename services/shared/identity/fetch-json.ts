import { IdentityFetchError } from './errors.js';

/** Default bound on a metadata/JWKS-style JSON response body. */
export const DEFAULT_MAX_JSON_BYTES = 256 * 1024;

export type FetchJsonOptions = {
  timeoutMs: number;
  maxBytes?: number;
  init?: RequestInit;
};

export type FetchJsonResult = { status: number; body: unknown };

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new IdentityFetchError('too_large', `response larger than ${maxBytes} bytes`);
  }
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new IdentityFetchError('too_large', `response larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Fetches `url` and parses a JSON body, with a hard timeout covering connect, headers and body, and a bound on
 * the body size. Redirects are not followed. Any HTTP status is returned; the caller decides what is acceptable.
 */
export async function fetchJson(url: string | URL, opts: FetchJsonOptions): Promise<FetchJsonResult> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { redirect: 'manual', ...opts.init, signal });
    text = await readBounded(response, opts.maxBytes ?? DEFAULT_MAX_JSON_BYTES);
  } catch (cause) {
    if (cause instanceof IdentityFetchError) throw cause;
    if (signal.aborted)
      throw new IdentityFetchError('timeout', `no response within ${opts.timeoutMs} ms`, { cause });
    throw new IdentityFetchError('network', `request failed: ${describeNetworkError(cause)}`, { cause });
  }
  if (text === '') return { status: response.status, body: undefined };
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    // JSON.parse messages quote the input; keep them out of the error.
    throw new IdentityFetchError('not_json', `response (HTTP ${response.status}) is not JSON`);
  }
}

/** `fetch failed (ECONNREFUSED)`-style summary of an undici network error. */
export function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return 'unknown error';
  const cause: unknown = err.cause;
  const code =
    cause !== null && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string'
      ? cause.code
      : undefined;
  return code ? `${err.message} (${code})` : err.message;
}
