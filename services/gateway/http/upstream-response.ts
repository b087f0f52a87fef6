import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ExchangeAbort } from './exchange-abort.js';

/** The upstream's response body: read whole before the response is handed over, or streamed as it comes. */
export type UpstreamBody =
  | { readonly kind: 'buffered'; readonly bytes: Buffer }
  | { readonly kind: 'streamed'; readonly stream: Readable };

export type UpstreamResponse = {
  readonly status: number;
  /** Lower-case names; a repeated header is an array. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: UpstreamBody;
};

/** Failures of a buffered body after the response headers arrived (the upstream failed while answering). */
const midBody = new WeakSet<object>();

/** Whether `err` ended a body after its response headers arrived (for the 502/504 message). */
export function failedMidBody(err: unknown): boolean {
  return typeof err === 'object' && err !== null && midBody.has(err);
}

/** Marks `err` as a failure after the response headers (an error that wraps one that was). */
export function markMidBody(err: object): void {
  midBody.add(err);
}

type Settle = { resolve(r: UpstreamResponse): void; reject(err: unknown): void };

function contentLength(headers: Readonly<Record<string, string | string[] | undefined>>): number | null {
  const v = headers['content-length'];
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null;
}

/**
 * One upstream request as an undici dispatch handler, in place of `request()` and its body stream: a response
 * whose `Content-Length` is at most `bufferBytes` is read into one Buffer and handed over whole (the common small
 * JSON answer: no stream, no promise per chunk); any other is handed over at its headers as a Readable fed with
 * backpressure (undici pauses the socket while the Readable is full). The exchange's abort (client gone, gateway
 * stopping) aborts the request; destroying the stream does too.
 */
export class UpstreamResponseHandler implements Dispatcher.DispatchHandler {
  readonly #bufferBytes: number;
  readonly #abort: ExchangeAbort;
  readonly #settle: Settle;
  #status = 0;
  #headers: Readonly<Record<string, string | string[] | undefined>> = {};
  #chunks: Buffer[] = [];
  #bytes = 0;
  #stream: Readable | undefined;
  #started = false;
  #ended = false;

  constructor(bufferBytes: number, abort: ExchangeAbort, settle: Settle) {
    this.#bufferBytes = bufferBytes;
    this.#abort = abort;
    this.#settle = settle;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#abort.whenAborted(() => controller.abort(new Error('the client went away')));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // informational: the final response follows
    this.#status = statusCode;
    this.#headers = headers;
    this.#started = true;
    const length = contentLength(headers);
    if (length !== null && length <= this.#bufferBytes) return; // buffered: handed over at its end
    const stream = new Readable({
      read: () => controller.resume(),
      destroy: (err, callback) => {
        if (!this.#ended) controller.abort(err ?? new Error('the response body was not read to its end'));
        callback(err);
      },
    });
    this.#stream = stream;
    this.#settle.resolve({ status: statusCode, headers, body: { kind: 'streamed', stream } });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#stream) {
      if (!this.#stream.push(chunk)) controller.pause();
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#abort.whenAborted(undefined);
    if (this.#stream) {
      this.#stream.push(null);
      return;
    }
    const chunks = this.#chunks;
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#bytes);
    this.#chunks = [];
    this.#settle.resolve({ status: this.#status, headers: this.#headers, body: { kind: 'buffered', bytes } });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#ended = true;
    this.#abort.whenAborted(undefined);
    if (this.#stream) {
      this.#stream.destroy(err);
      return;
    }
    if (this.#started && typeof err === 'object' && err !== null) markMidBody(err);
    this.#settle.reject(err);
  }
}
