import { describe, expect, it } from 'vitest';
import { SendQueue } from './send-queue.js';
import type { Pending } from './send-queue.js';

function pending(key: string, n: number, bytes = 100, durable = false): Pending {
  return {
    record: { topic: 't', key, value: Buffer.from(`${key}-${n}`) },
    bytes,
    waiter: durable ? { resolve: () => undefined, reject: () => undefined } : undefined,
  };
}

const names = (batch: readonly Pending[]) => batch.map((p) => p.record.value.toString());

describe('SendQueue', () => {
  it("puts another key's record in the next batch however large one key's backlog is", () => {
    const q = new SendQueue();
    for (let i = 1; i <= 1000; i++) q.push(pending('flood', i, 64 * 1024));
    q.push(pending('neighbour', 1, 200, true));
    const batch = q.take(5_000, 900 * 1024);
    expect(names(batch)).toContain('neighbour-1');
    expect(names(batch).filter((n) => n.startsWith('flood'))).toEqual(
      Array.from({ length: batch.length - 1 }, (_, i) => `flood-${i + 1}`),
    );
    expect(q.urgent).toBe(1);
    q.settle(batch);
    expect(q.urgent).toBe(0);
    expect(q.events).toBe(1000 - (batch.length - 1));
  });

  it('keeps each key in order across batches, settles and retries', () => {
    const q = new SendQueue();
    for (let i = 1; i <= 5; i++) {
      q.push(pending('a', i));
      q.push(pending('b', i));
    }
    const seen: string[] = [];
    for (let round = 0; round < 20 && q.events > 0; round++) {
      const batch = q.take(3, 10_000);
      // A failed attempt is taken again: the same key prefixes come back first.
      expect(names(q.take(3, 10_000)).sort()).toEqual(names(batch).sort());
      q.settle(batch);
      seen.push(...names(batch));
    }
    for (const key of ['a', 'b'])
      expect(seen.filter((n) => n.startsWith(key))).toEqual([1, 2, 3, 4, 5].map((i) => `${key}-${i}`));
    expect(q.events).toBe(0);
    expect(q.bytes).toBe(0);
  });

  it('takes at least one record even when it alone exceeds the byte bound', () => {
    const q = new SendQueue();
    q.push(pending('a', 1, 5_000));
    q.push(pending('b', 1, 10));
    expect(names(q.take(10, 1_000))).toEqual(['a-1']);
  });

  it('refuses to settle what take() did not return', () => {
    const q = new SendQueue();
    q.push(pending('a', 1));
    q.push(pending('a', 2));
    const [, second] = [...q.all()];
    expect(() => q.settle([second!])).toThrow(/not the batch/);
  });
});
