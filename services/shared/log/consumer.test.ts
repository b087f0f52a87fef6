import type { EachBatchPayload, Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { EventConsumer } from './consumer.js';

/** A kafkajs consumer that hands `batches` to eachBatch all at once and records the commits. */
function fakeKafka(partitions: number[]) {
  const commits: { topic: string; partition: number; offset: string }[][] = [];
  const consumer = {
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    on: () => undefined,
    events: {},
    commitOffsets: (offsets: { topic: string; partition: number; offset: string }[]) => {
      commits.push(offsets);
      return Promise.resolve();
    },
    run: async (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      await Promise.all(
        partitions.map((partition) =>
          o.eachBatch({
            batch: {
              topic: 't',
              partition,
              messages: [{ offset: '7', key: null, value: Buffer.from('x'), timestamp: '0' }],
              lastOffset: () => '7',
            },
            isRunning: () => true,
            isStale: () => false,
            heartbeat: () => Promise.resolve(),
            resolveOffset: () => undefined,
          } as unknown as EachBatchPayload),
        ),
      );
    },
  };
  return { kafka: { consumer: () => consumer } as unknown as Kafka, commits };
}

describe('EventConsumer', () => {
  it('commits the partition batches a handler resolves together in one OffsetCommit request', async () => {
    const { kafka, commits } = fakeKafka([0, 1, 2, 3]);
    const consumer = new EventConsumer(kafka, createLogger({ service: 'test', level: 'silent' }), {
      groupId: 'g',
      topics: ['t'],
    });
    let release!: () => void;
    const written = new Promise<void>((resolve) => (release = resolve));
    let waiting = 0;
    const started = consumer.start(async () => {
      if (++waiting === 4) release();
      await written; // one write for all four batches, as the recorder's batcher does
    });
    await started;
    expect(commits).toEqual([[0, 1, 2, 3].map((partition) => ({ topic: 't', partition, offset: '8' }))]);
  });
});
