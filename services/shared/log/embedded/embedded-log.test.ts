import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../consumer.js';
import { EmbeddedEventLog } from './embedded-log.js';
import { decodeFrame, encodeFrame } from './topic-file.js';

const log = pino({ level: 'silent' });
const fresh = (): string => mkdtempSync(join(tmpdir(), 'gh-embedded-log-'));

async function consumeUntil(
  store: EmbeddedEventLog,
  groupId: string,
  count: number,
  handler: (r: readonly ConsumedRecord[]) => Promise<void> = () => Promise.resolve(),
): Promise<string[]> {
  const seen: string[] = [];
  const consumer = store.createConsumer(log, { groupId, topics: ['t'], maxWaitTimeMs: 20 });
  let done!: () => void;
  const enough = new Promise<void>((resolve) => (done = resolve));
  await consumer.start(async (records) => {
    await handler(records);
    seen.push(...records.map((r) => `${r.offset}:${r.key?.toString()}:${r.value.toString()}`));
    if (seen.length >= count) done();
  });
  await enough;
  await consumer.stop();
  return seen;
}

describe('embedded event log', () => {
  it('frames round-trip and a flipped bit is refused', () => {
    const frame = encodeFrame({
      offset: 7n,
      timestamp: 1_700_000_000_123,
      key: Buffer.from('k'),
      value: Buffer.from('v'),
    });
    expect(decodeFrame(frame, 0)?.record).toMatchObject({ offset: 7n, timestamp: 1_700_000_000_123 });
    frame[frame.length - 1]! ^= 1;
    expect(decodeFrame(frame, 0)).toBeUndefined();
    expect(decodeFrame(frame.subarray(0, 10), 0)).toBeUndefined();
  });

  it('keeps records and committed positions across a reopen; redelivers what was not committed', async () => {
    const dir = fresh();
    let store = await EmbeddedEventLog.open({ dir, log });
    const publisher = store.createPublisher(log, { lingerMs: 1 });
    publisher.start();
    await publisher.publishDurable({ topic: 't', key: 'a', value: Buffer.from('1') });
    publisher.publishBatched({ topic: 't', key: 'a', value: Buffer.from('2') });
    await publisher.publishDurable({ topic: 't', key: 'b', value: Buffer.from('3') });
    expect(await consumeUntil(store, 'g', 3)).toEqual(['0:a:1', '1:a:2', '2:b:3']);

    // A handler that fails leaves the position where it was: the next start gets the same record again.
    await publisher.publishDurable({ topic: 't', key: 'c', value: Buffer.from('4') });
    let failures = 0;
    const consumer = store.createConsumer(log, { groupId: 'g', topics: ['t'], maxWaitTimeMs: 20 });
    await consumer.start(() => {
      failures++;
      return Promise.reject(new Error('crash before commit'));
    });
    await new Promise((r) => setTimeout(r, 50));
    await consumer.stop();
    expect(failures).toBeGreaterThan(0);
    expect((await publisher.close()).unflushed).toBe(0);
    await store.close();

    store = await EmbeddedEventLog.open({ dir, log });
    expect(await consumeUntil(store, 'g', 1)).toEqual(['3:c:4']);
    await store.close();
  });

  it('writes batched records on their own, after lingerMs', async () => {
    const store = await EmbeddedEventLog.open({ dir: fresh(), log });
    const publisher = store.createPublisher(log, { lingerMs: 5 });
    publisher.start();
    publisher.publishBatched({ topic: 't', key: 'a', value: Buffer.from('only') });
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.end('t')).toBe(1n);
    expect(publisher.stats()).toMatchObject({ bufferedEvents: 0, sentEvents: 1 });
    await publisher.close();
    await store.close();
  });

  it('cuts off a torn tail at open and goes on from the last whole record', async () => {
    const dir = fresh();
    let store = await EmbeddedEventLog.open({ dir, log });
    await store.append('t', [{ key: Buffer.from('a'), value: Buffer.from('whole') }]);
    await store.close();
    const file = join(dir, 't.log');
    const size = statSync(file).size;
    appendFileSync(file, readFileSync(file).subarray(0, size - 3)); // a second frame, cut short
    store = await EmbeddedEventLog.open({ dir, log });
    expect(await store.end('t')).toBe(1n);
    expect(statSync(file).size).toBe(size);
    await store.append('t', [{ key: Buffer.from('b'), value: Buffer.from('next') }]);
    expect((await store.read('t', 0n, 10, 1 << 20)).map((r) => r.value.toString())).toEqual([
      'whole',
      'next',
    ]);
    await store.close();
  });

  it('a reader replays the topic from the beginning and reports when it caught up', async () => {
    const store = await EmbeddedEventLog.open({ dir: fresh(), log });
    await store.append(
      't',
      [1, 2, 3].map((n) => ({ key: Buffer.from('k'), value: Buffer.from(String(n)) })),
    );
    const reader = store.createReader({ log, topic: 't', groupIdPrefix: 'r', maxWaitTimeMs: 20 });
    const values: string[] = [];
    await reader.start((r) => values.push(r.value.toString()));
    expect(await reader.waitCaughtUp(1_000)).toBe(true);
    expect(values).toEqual(['1', '2', '3']);
    await store.append('t', [{ key: Buffer.from('k'), value: Buffer.from('4') }]);
    await new Promise((r) => setTimeout(r, 30));
    expect(values).toEqual(['1', '2', '3', '4']);
    await reader.stop();
    await store.close();
  });
});
