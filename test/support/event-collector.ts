import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRecord } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import { testKafka, testLogger } from './kafka.js';

export type Collected = { event: Event; raw: Buffer };

/** Reads every record of a topic from its beginning, as it arrives, for tests that wait for specific events. */
export type EventCollector = {
  readonly records: readonly Collected[];
  /** Waits until `pick` finds what it needs in the records so far (or fails after `timeoutMs`). */
  waitFor<T>(pick: (records: readonly Collected[]) => T | undefined, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
};

export function collectEvents(topic: string): EventCollector {
  const records: Collected[] = [];
  const consumer = new EventConsumer(testKafka('test-collector'), testLogger, {
    groupId: `collector-${Date.now()}-${Math.random()}`,
    topics: [topic],
  });
  void consumer.start((batch) => {
    for (const r of batch) for (const event of decodeRecord(r.value)) records.push({ event, raw: r.value });
    return Promise.resolve();
  });
  return {
    records,
    async waitFor(pick, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = pick(records);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no matching event on ${topic} within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    stop: () => consumer.stop(),
  };
}
