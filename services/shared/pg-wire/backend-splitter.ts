import { ChunkQueue } from './chunk-queue.js';
import { PgProtocolError } from './errors.js';

/** Default bound of one upstream (server → client) message, as its length field: 64 MiB. */
export const DEFAULT_MAX_BACKEND_MESSAGE_SIZE = 64 * 1024 * 1024;

export interface BackendSplitterOptions {
  /** Largest accepted server message (length field, i.e. payload + 4). Default 64 MiB; larger → 54000. */
  readonly maxMessageSize?: number;
}

/**
 * One framed server message. `raw` is the whole message (type byte, length, payload) and `payload` the bytes after
 * the length; both are views of the received chunk when the message arrived in one chunk (zero copy), else views
 * of one buffer the message was assembled into. Forward `raw` as is; decode `payload` only for the types the
 * gateway needs (see backend-decoders.ts).
 */
export interface BackendFrame {
  /** The type byte, e.g. 0x44 ('D', DataRow); compare with `BackendCode`. */
  readonly code: number;
  readonly payload: Buffer;
  readonly raw: Buffer;
}

/**
 * Incremental framing of the upstream server's byte stream, without decoding messages:
 *
 * ```ts
 * splitter.push(chunk);
 * for (let f = splitter.read(); f !== null; f = splitter.read()) handle(f);
 * ```
 *
 * Any type byte is accepted (the gateway forwards what it does not understand); a length below 4 or above the
 * limit throws `PgProtocolError`, after which the splitter stays failed.
 */
export class BackendSplitter {
  readonly #queue = new ChunkQueue();
  readonly #maxMessageSize: number;
  #error: PgProtocolError | null = null;

  constructor(options: BackendSplitterOptions = {}) {
    const max = options.maxMessageSize ?? DEFAULT_MAX_BACKEND_MESSAGE_SIZE;
    if (!Number.isSafeInteger(max) || max < 4) throw new RangeError('maxMessageSize must be an integer >= 4');
    this.#maxMessageSize = max;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#queue.length;
  }

  push(chunk: Buffer): void {
    this.#queue.push(chunk);
  }

  /** The next complete message, or `null` when more bytes are needed. */
  read(): BackendFrame | null {
    if (this.#error !== null) throw this.#error;
    const q = this.#queue;
    if (q.length < 5) return null;
    const len = q.peekInt32BE(1);
    if (len < 4 || len > this.#maxMessageSize) {
      const code = q.peekUInt8(0);
      this.#error =
        len < 4
          ? new PgProtocolError(`invalid server message length ${len} (type ${code})`)
          : new PgProtocolError(
              `server message of type ${code} and ${len} bytes exceeds the limit of ${this.#maxMessageSize}`,
              '54000',
            );
      throw this.#error;
    }
    if (q.length < len + 1) return null;
    const raw = q.take(len + 1);
    return { code: raw[0]!, payload: raw.subarray(5), raw };
  }

  /** Pushes `chunk` and yields every message it completes. */
  *feed(chunk: Buffer): Generator<BackendFrame, void, undefined> {
    this.push(chunk);
    for (let f = this.read(); f !== null; f = this.read()) yield f;
  }
}
