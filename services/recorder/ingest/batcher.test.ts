import { describe, expect, it } from 'vitest';
import { RecorderStoppedError } from '../errors.js';
import { Batcher } from './batcher.js';

const opts = { maxRows: 5, maxDelayMs: 30, retryMinMs: 5, retryMaxMs: 20 };

describe('Batcher', () => {
  it('writes at once when maxRows is reached, combining callers', async () => {
    const writes: number[][] = [];
    const b = new Batcher<number>({ ...opts, maxDelayMs: 60_000 }, (items) => {
      writes.push(items);
      return Promise.resolve();
    });
    await Promise.all([b.add([1, 2]), b.add([3, 4, 5])]);
    expect(writes).toEqual([[1, 2, 3, 4, 5]]);
    await b.close({ abort: false });
  });

  it('counts an item as the rows it stands for', async () => {
    const writes: string[][] = [];
    const b = new Batcher<string>({ ...opts, maxDelayMs: 60_000 }, (items) => {
      writes.push(items);
      return Promise.resolve();
    });
    const first = b.add(['three rows'], 3);
    expect(b.pending).toBe(3);
    await Promise.all([first, b.add(['two rows'], 2)]);
    expect(writes).toEqual([['three rows', 'two rows']]);
    await b.close({ abort: false });
  });

  it('writes a partial batch after maxDelayMs', async () => {
    const writes: number[][] = [];
    const b = new Batcher<number>(opts, (items) => {
      writes.push(items);
      return Promise.resolve();
    });
    const started = performance.now();
    await b.add([1]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(writes).toEqual([[1]]);
    await b.close({ abort: false });
  });

  it('retries a failing write with backoff and resolves callers only after it succeeded', async () => {
    let calls = 0;
    const retries: number[] = [];
    const b = new Batcher<number>(
      opts,
      () => (++calls < 4 ? Promise.reject(new Error('down')) : Promise.resolve()),
      { onRetry: (_err, _attempt, delay) => retries.push(delay) },
    );
    let resolved = false;
    const p = b.add([1, 2, 3, 4, 5]).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 1));
    expect(resolved).toBe(false);
    await p;
    expect(calls).toBe(4);
    expect(retries).toEqual([5, 10, 20]);
    await b.close({ abort: false });
  });

  it('keeps items added during a write for the next write', async () => {
    const writes: number[][] = [];
    let release: () => void = () => undefined;
    const b = new Batcher<number>({ ...opts, maxRows: 2 }, (items) => {
      writes.push(items);
      return writes.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    });
    const first = b.add([1, 2]);
    await new Promise((r) => setTimeout(r, 1));
    const second = b.add([3, 4]);
    release();
    await Promise.all([first, second]);
    expect(writes).toEqual([
      [1, 2],
      [3, 4],
    ]);
    await b.close({ abort: false });
  });

  it('drain writes without waiting; abort rejects the callers of a failing write', async () => {
    const b = new Batcher<number>({ ...opts, maxDelayMs: 60_000 }, () => Promise.reject(new Error('down')));
    const p = b.add([1]);
    b.drain();
    await new Promise((r) => setTimeout(r, 20));
    await b.close({ abort: true });
    await expect(p).rejects.toBeInstanceOf(RecorderStoppedError);
    await expect(b.add([2])).rejects.toBeInstanceOf(RecorderStoppedError);
  });

  it('close without abort writes what is pending', async () => {
    const writes: number[][] = [];
    const b = new Batcher<number>({ ...opts, maxDelayMs: 60_000 }, (items) => {
      writes.push(items);
      return Promise.resolve();
    });
    const p = b.add([7]);
    await b.close({ abort: false });
    await p;
    expect(writes).toEqual([[7]]);
  });
});
