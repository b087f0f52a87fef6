import { ChunkQueue } from './chunk-queue.js';
import { PgProtocolError } from './errors.js';
import { decodeFrontendMessage, decodeStartupPacket } from './frontend-decoders.js';
import type { FrontendMessage } from './frontend-messages.js';
import { FrontendCode } from './message-codes.js';

/** Default bound of one typed message (the length field, i.e. payload + 4): 1 MiB. */
export const DEFAULT_MAX_FRONTEND_MESSAGE_SIZE = 1024 * 1024;
/** Default bound of a startup-phase packet: PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
export const DEFAULT_MAX_STARTUP_MESSAGE_SIZE = 10_000;
/** Default bound of the small control messages (Describe, Close, Execute, Sync, Flush, Terminate, CopyDone, CopyFail). */
export const DEFAULT_MAX_CONTROL_MESSAGE_SIZE = 10_000;

export interface FrontendParserOptions {
  /** Largest accepted typed message, as its length field (payload + 4). Default 1 MiB; larger → 54000. */
  readonly maxMessageSize?: number;
  /** Largest accepted startup packet (SSLRequest, StartupMessage, …). Default 10 000; larger → 08P01. */
  readonly maxStartupMessageSize?: number;
  /** Largest accepted control message; capped at `maxMessageSize`. Default 10 000; larger → 54000. */
  readonly maxControlMessageSize?: number;
}

/** `startup`: untyped packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage); `normal`: typed messages. */
export type FrontendPhase = 'startup' | 'normal';

const CONTROL_CODES: ReadonlySet<number> = new Set([
  FrontendCode.Close,
  FrontendCode.Describe,
  FrontendCode.Execute,
  FrontendCode.Flush,
  FrontendCode.Sync,
  FrontendCode.Terminate,
  FrontendCode.CopyDone,
  FrontendCode.CopyFail,
]);

const KNOWN_CODES: ReadonlySet<number> = new Set(Object.values(FrontendCode));

/**
 * Incremental parser of the client → server byte stream. Push chunks as they arrive and call `read()` until it
 * returns `null`:
 *
 * ```ts
 * parser.push(chunk);
 * for (let m = parser.read(); m !== null; m = parser.read()) handle(m);
 * ```
 *
 * It starts in the `startup` phase and moves to `normal` after a StartupMessage; SSLRequest and GSSENCRequest
 * keep it in `startup` (the client sends its StartupMessage next, possibly over TLS). After an SSLRequest the
 * gateway should check `bufferedBytes === 0` before the TLS handshake: bytes sent before the server's answer
 * would otherwise be read as if they had been encrypted (CVE-2021-23214).
 *
 * The length of a message is checked as soon as its header arrives, so at most one maximum-size message (plus the
 * chunk that completes it) is ever buffered. Malformed input throws `PgProtocolError`; the parser then stays
 * failed and every later `read()` throws the same error.
 */
export class FrontendParser {
  readonly #queue = new ChunkQueue();
  readonly #maxMessageSize: number;
  readonly #maxStartupSize: number;
  readonly #maxControlSize: number;
  #phase: FrontendPhase = 'startup';
  #error: PgProtocolError | null = null;

  constructor(options: FrontendParserOptions = {}) {
    this.#maxMessageSize = positive(
      options.maxMessageSize ?? DEFAULT_MAX_FRONTEND_MESSAGE_SIZE,
      'maxMessageSize',
    );
    this.#maxStartupSize = positive(
      options.maxStartupMessageSize ?? DEFAULT_MAX_STARTUP_MESSAGE_SIZE,
      'maxStartupMessageSize',
    );
    this.#maxControlSize = Math.min(
      positive(options.maxControlMessageSize ?? DEFAULT_MAX_CONTROL_MESSAGE_SIZE, 'maxControlMessageSize'),
      this.#maxMessageSize,
    );
  }

  get phase(): FrontendPhase {
    return this.#phase;
  }

  /** Bytes received but not yet returned as messages. */
  get bufferedBytes(): number {
    return this.#queue.length;
  }

  push(chunk: Buffer): void {
    this.#queue.push(chunk);
  }

  /** The next complete message, or `null` when more bytes are needed. Throws `PgProtocolError` on bad input. */
  read(): FrontendMessage | null {
    if (this.#error !== null) throw this.#error;
    try {
      return this.#phase === 'startup' ? this.#readStartup() : this.#readTyped();
    } catch (err) {
      if (err instanceof PgProtocolError) this.#error = err;
      throw err;
    }
  }

  /** Pushes `chunk` and yields every message it completes. */
  *feed(chunk: Buffer): Generator<FrontendMessage, void, undefined> {
    this.push(chunk);
    for (let m = this.read(); m !== null; m = this.read()) yield m;
  }

  #readStartup(): FrontendMessage | null {
    const q = this.#queue;
    if (q.length < 4) return null;
    const len = q.peekInt32BE(0);
    if (len < 8) throw new PgProtocolError('invalid length of startup packet');
    if (len > this.#maxStartupSize) {
      throw new PgProtocolError(
        `startup packet of ${len} bytes exceeds the limit of ${this.#maxStartupSize}`,
      );
    }
    if (q.length < len) return null;
    const message = decodeStartupPacket(q.take(len));
    if (message.type === 'StartupMessage') this.#phase = 'normal';
    return message;
  }

  #readTyped(): FrontendMessage | null {
    const q = this.#queue;
    if (q.length === 0) return null;
    const code = q.peekUInt8(0);
    if (!KNOWN_CODES.has(code)) throw new PgProtocolError(`invalid frontend message type ${code}`);
    if (q.length < 5) return null;
    const len = q.peekInt32BE(1);
    if (len < 4) throw new PgProtocolError(`invalid message length ${len}`);
    const limit = CONTROL_CODES.has(code) ? this.#maxControlSize : this.#maxMessageSize;
    if (len > limit) {
      throw new PgProtocolError(
        `message '${String.fromCharCode(code)}' of ${len} bytes exceeds the limit of ${limit}`,
        '54000',
      );
    }
    if (q.length < len + 1) return null;
    return decodeFrontendMessage(q.take(len + 1));
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 8) throw new RangeError(`${name} must be an integer >= 8`);
  return value;
}
