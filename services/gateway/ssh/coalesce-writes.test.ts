import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from './coalesce-writes.js';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

/** A connected client socket and everything its peer receives. */
async function pair(): Promise<{ client: Socket; received: () => Promise<Buffer> }> {
  const chunks: Buffer[] = [];
  let ended!: () => void;
  const done = new Promise<void>((r) => (ended = r));
  const server = createServer((s) => {
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', ended);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(client, 'connect');
  closers.push(() => {
    client.destroy();
    server.close();
  });
  return { client, received: () => done.then(() => Buffer.concat(chunks)) };
}

type Writes = { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };

describe('coalesceWrites', () => {
  it('sends the writes of one tick as one writev, in order, and each later tick again', async () => {
    const { client, received } = await pair();
    coalesceWrites(client);
    const calls: string[] = [];
    const s = client as unknown as Writes;
    const single = s._write.bind(client);
    const vector = s._writev.bind(client);
    s._write = (...a) => (calls.push('write'), single(...a));
    s._writev = (...a) => (calls.push(`writev ${(a[0] as unknown[]).length}`), vector(...a));
    const parts = ['one ', 'two ', 'three '].map((t) => Buffer.from(t));
    for (const p of parts) client.write(p);
    expect(calls).toEqual([]); // corked until the end of the tick
    await new Promise((r) => process.nextTick(r));
    expect(calls).toEqual(['writev 3']);
    client.write(Buffer.from('four'));
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['writev 3', 'write']);
    client.end();
    expect((await received()).toString()).toBe('one two three four');
  });

  it('passes callbacks and the return value through', async () => {
    const { client } = await pair();
    coalesceWrites(client);
    let called = false;
    const ok = client.write(Buffer.from('x'), () => (called = true));
    expect(ok).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(called).toBe(true);
  });
});
