import { setTimeout as sleep } from 'node:timers/promises';
import { logError } from '../../log-error.js';
import type { Logger } from '../../logger.js';
import type { BatchHandler, ConsumedRecord, EventConsumerOptions } from '../consumer.js';
import type { ConsumerListener, LogConsumer } from '../event-log.js';
import type { EmbeddedEventLog } from './embedded-log.js';

const MAX_RECORDS_PER_BATCH = 5_000;
const RETRY_MS = 1_000;

/**
 * A consumer group of the embedded log, with one member (the process): batches per topic go to the handler, and
 * the group's position moves on disk only after the handler resolved; a failing handler gets the same batch again
 * after a pause, and a crash redelivers it on the next start (at-least-once).
 */
export class EmbeddedConsumer implements LogConsumer {
  readonly #store: EmbeddedEventLog;
  readonly #log: Logger;
  readonly #opts: EventConsumerOptions;
  readonly #listeners: ConsumerListener[] = [];
  #loop: Promise<void> | undefined;
  #stopping = false;

  constructor(store: EmbeddedEventLog, log: Logger, opts: EventConsumerOptions) {
    this.#store = store;
    this.#opts = opts;
    this.#log = log.child({ component: 'consumer', group: opts.groupId, log: 'embedded' });
  }

  listen(listener: ConsumerListener): void {
    this.#listeners.push(listener);
  }

  async start(handler: BatchHandler): Promise<void> {
    const positions = await this.#store.positions(this.#opts.groupId);
    for (const topic of this.#opts.topics) {
      if (!positions.has(topic))
        positions.set(topic, this.#opts.fromBeginning === false ? await this.#store.end(topic) : 0n);
    }
    for (const l of this.#listeners) l.joined?.();
    this.#loop = this.#run(handler, positions);
  }

  async #run(handler: BatchHandler, positions: Map<string, bigint>): Promise<void> {
    const maxBytes = this.#opts.maxBytesPerPartition ?? 4 * 1024 * 1024;
    while (!this.#stopping) {
      let handled = 0;
      for (const topic of this.#opts.topics) {
        if (this.#stopping) break;
        const from = positions.get(topic) ?? 0n;
        const stored = await this.#store.read(topic, from, MAX_RECORDS_PER_BATCH, maxBytes);
        if (stored.length === 0) continue;
        const records: ConsumedRecord[] = stored.map((r) => ({
          topic,
          partition: 0,
          offset: r.offset.toString(),
          key: r.key,
          value: r.value,
          timestamp: String(Math.floor(r.timestamp)),
        }));
        try {
          await handler(records, { heartbeat: () => Promise.resolve() });
        } catch (err) {
          logError(
            this.#log,
            err,
            'batch handler failed; position not committed, batch will be redelivered',
            {
              topic,
            },
          );
          await sleep(RETRY_MS);
          handled++;
          continue;
        }
        const next = stored[stored.length - 1]!.offset + 1n;
        positions.set(topic, next);
        await this.#store.commit(this.#opts.groupId, positions);
        const lag = Number((await this.#store.end(topic)) - next);
        for (const l of this.#listeners) l.batchDone?.(topic, 0, lag);
        handled++;
      }
      if (handled === 0 && !this.#stopping)
        await this.#store.waitForAppend(this.#opts.topics, this.#opts.maxWaitTimeMs ?? 1_000);
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop?.catch((err: unknown) => logError(this.#log, err, 'consumer loop failed'));
  }
}
