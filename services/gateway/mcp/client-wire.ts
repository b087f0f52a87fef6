import type { ServerResponse } from 'node:http';
import { encodeSseEvent } from './sse.js';

/**
 * The reply to one POST: a single JSON body, or — once a message must reach the client before the final one (an
 * upstream SSE stream, a "waiting for approval" notice) — a `text/event-stream` that ends with the final message.
 */
export class ClientWire {
  readonly #res: ServerResponse;
  readonly #acceptsSse: boolean;
  #sse = false;

  constructor(res: ServerResponse, accept: string | undefined) {
    this.#res = res;
    this.#acceptsSse = (accept ?? '').includes('text/event-stream');
  }

  get headersSent(): boolean {
    return this.#res.headersSent;
  }

  /**
   * Switches the reply to SSE (status 200) unless it already is. Without `force`, only when the client accepts SSE
   * and nothing was sent yet; returns whether the reply is a stream now.
   */
  stream(headers: Readonly<Record<string, string>> = {}, force = false): boolean {
    if (this.#sse) return true;
    if (this.#res.headersSent || !(force || this.#acceptsSse)) return false;
    this.#res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
    });
    this.#sse = true;
    return true;
  }

  /** One event on the stream (waits for the socket to drain: backpressure reaches the upstream read). */
  async event(data: string, id?: string, event?: string): Promise<void> {
    if (!this.#res.write(encodeSseEvent({ data, id, ...(event !== undefined ? { event } : {}) }))) {
      await new Promise((resolve) => this.#res.once('drain', resolve));
    }
  }

  /** The final message: the last event of a stream, or a JSON body with `status`. */
  final(status: number, text: string, headers: Readonly<Record<string, string>> = {}): void {
    if (this.#sse) {
      this.#res.end(encodeSseEvent({ data: text }));
      return;
    }
    this.#res.writeHead(status, { ...headers, 'content-type': 'application/json' });
    this.#res.end(text);
  }

  /** Ends without a message (202 for an accepted notification, or the end of a stream). */
  empty(status: number, headers: Readonly<Record<string, string>> = {}): void {
    if (!this.#sse) this.#res.writeHead(status, headers);
    this.#res.end();
  }

  destroy(): void {
    this.#res.destroy();
  }
}
