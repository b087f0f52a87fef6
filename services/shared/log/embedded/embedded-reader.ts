import { logError } from '../../log-error.js';
import type { Logger } from '../../logger.js';
import { resolvesWithin } from '../event-log.js';
import type { LogReader, LogReaderOptions } from '../event-log.js';
import type { TailRecord } from '../log-tail.js';
import type { EmbeddedEventLog } from './embedded-log.js';

const MAX_RECORDS_PER_READ = 5_000;
const MAX_BYTES_PER_READ = 4 * 1024 * 1024;

/** Reads one topic of the embedded log from its beginning, in order, committing nothing (see `LogTail`). */
export class EmbeddedReader implements LogReader {
  readonly #store: EmbeddedEventLog;
  readonly #opts: LogReaderOptions;
  readonly #log: Logger;
  #position = 0n;
  #target = 0n;
  #end = 0n;
  #lastReadAt = 0;
  #caughtUp = false;
  #resolveCaughtUp!: () => void;
  readonly caughtUp: Promise<void> = new Promise<void>((resolve) => (this.#resolveCaughtUp = resolve));
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(store: EmbeddedEventLog, opts: LogReaderOptions) {
    this.#store = store;
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'log-reader', topic: opts.topic, log: 'embedded' });
  }

  get isCaughtUp(): boolean {
    return this.#caughtUp;
  }

  get sinceLastFetchMs(): number {
    return this.#lastReadAt === 0 ? Number.POSITIVE_INFINITY : Date.now() - this.#lastReadAt;
  }

  get lag(): number {
    return Number(this.#end - this.#position);
  }

  async start(onRecord: (r: TailRecord) => void): Promise<void> {
    this.#target = await this.#store.end(this.#opts.topic);
    this.#check();
    this.#loop = this.#run(onRecord);
    return Promise.resolve();
  }

  async #run(onRecord: (r: TailRecord) => void): Promise<void> {
    const topic = this.#opts.topic;
    while (!this.#stopped) {
      const records = await this.#store.read(topic, this.#position, MAX_RECORDS_PER_READ, MAX_BYTES_PER_READ);
      this.#lastReadAt = Date.now();
      this.#end = await this.#store.end(topic);
      for (const r of records) {
        try {
          onRecord({ partition: 0, offset: r.offset.toString(), key: r.key, value: r.value });
        } catch (err) {
          logError(this.#log, err, 'record handler failed', { offset: r.offset.toString() });
        }
        this.#position = r.offset + 1n;
      }
      this.#check();
      if (records.length === 0 && !this.#stopped)
        await this.#store.waitForAppend([topic], this.#opts.maxWaitTimeMs ?? 1_000);
    }
  }

  #check(): void {
    if (this.#caughtUp || this.#position < this.#target) return;
    this.#caughtUp = true;
    this.#resolveCaughtUp();
  }

  waitCaughtUp(timeoutMs: number): Promise<boolean> {
    return this.#caughtUp ? Promise.resolve(true) : resolvesWithin(this.caughtUp, timeoutMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}
