import type { StreamMasker } from './stream-masker.js';

export type ChannelOutputOptions = {
  masker: StreamMasker | null;
  /** Quiet time after which a held partial line is masked and sent. */
  flushMs: number;
  /** Records the bytes the client is about to see; throws when the audit log refuses (the caller fails closed). */
  record: (data: Buffer) => void;
  /** Writes to the client; false asks the producer to pause until the stream drains. */
  write: (data: Buffer, done: () => void) => boolean;
  onFull: () => void;
  onError: (err: unknown) => void;
};

/**
 * One output stream of a channel (stdout or stderr) on its way to the client: masked (when the decision names
 * detectors), recorded, then written. Audit comes first: bytes the log refused never reach the client.
 */
export class ChannelOutput {
  readonly #o: ChannelOutputOptions;
  #timer: NodeJS.Timeout | undefined;
  #last: Promise<void> = Promise.resolve();
  #ended = false;

  constructor(opts: ChannelOutputOptions) {
    this.#o = opts;
  }

  push(data: Buffer): void {
    if (this.#ended) return;
    const masker = this.#o.masker;
    if (!masker) {
      this.#send(data);
      return;
    }
    this.#send(masker.push(data));
    if (masker.held > 0) this.#arm();
    else this.#disarm();
  }

  /** Masks and sends whatever is held; no more output after this. */
  end(): void {
    if (this.#ended) return;
    this.#disarm();
    if (this.#o.masker) this.#send(this.#o.masker.flush(true));
    this.#ended = true;
  }

  /** Stops without sending what is held (the channel is going away). */
  discard(): void {
    this.#disarm();
    this.#ended = true;
  }

  /** Resolves when the last write reached the SSH transport (or after `timeoutMs`). */
  flushed(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    return Promise.race([this.#last, timeout]).finally(() => clearTimeout(timer));
  }

  #send(data: Buffer): void {
    if (data.length === 0) return;
    try {
      this.#o.record(data);
    } catch (err) {
      this.#ended = true;
      this.#disarm();
      this.#o.onError(err);
      return;
    }
    let done!: () => void;
    this.#last = new Promise<void>((resolve) => (done = resolve));
    if (!this.#o.write(data, done)) this.#o.onFull();
  }

  #arm(): void {
    if (this.#timer) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#ended && this.#o.masker) this.#send(this.#o.masker.flush());
    }, this.#o.flushMs);
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
