import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readRequestBody, RequestBodyTooLargeError, streamedBytes } from './request-body.js';

async function all(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(b);
  return Buffer.concat(out);
}

const chunked = { 'transfer-encoding': 'chunked' };

describe('readRequestBody', () => {
  it('gives an empty body without reading when the request declares none (no length, not chunked)', async () => {
    const s = new PassThrough();
    expect(await readRequestBody(s, {}, 10, 'stream')).toEqual({ kind: 'buffered', bytes: Buffer.alloc(0) });
    expect(await readRequestBody(s, { 'content-length': '0' }, 10, 'stream')).toMatchObject({
      kind: 'buffered',
    });
  });

  it('buffers a body that ends within the bound', async () => {
    const s = new PassThrough();
    const p = readRequestBody(s, chunked, 10, 'stream');
    s.end(Buffer.from('0123456789'));
    expect(await p).toEqual({ kind: 'buffered', bytes: Buffer.from('0123456789') });
  });

  it('streams a body declared larger than the bound without reading it', async () => {
    const s = new PassThrough();
    const b = await readRequestBody(s, { 'content-length': '11' }, 10, 'stream');
    expect(b).toMatchObject({ kind: 'streamed', head: Buffer.alloc(0), declaredBytes: 11 });
    s.end(Buffer.from('hello world'));
    if (b.kind !== 'streamed') throw new Error('not streamed');
    expect((await all(streamedBytes(b))).toString()).toBe('hello world');
  });

  it('streams a chunked body that runs past the bound: the head read so far, then the rest, in order', async () => {
    const s = new PassThrough();
    const p = readRequestBody(s, { 'transfer-encoding': 'chunked' }, 10, 'stream');
    s.write(Buffer.from('0123456'));
    s.write(Buffer.from('789abc'));
    const b = await p;
    if (b.kind !== 'streamed') throw new Error('not streamed');
    expect(b.head.toString()).toBe('0123456789abc');
    expect(b.declaredBytes).toBeNull();
    s.end(Buffer.from('def'));
    expect((await all(streamedBytes(b))).toString()).toBe('0123456789abcdef');
  });

  it('refuses a larger body (declared or found) when largeRequestBodies is refuse', async () => {
    await expect(
      readRequestBody(new PassThrough(), { 'content-length': '11' }, 10, 'refuse'),
    ).rejects.toBeInstanceOf(RequestBodyTooLargeError);
    const s = new PassThrough();
    const p = readRequestBody(s, chunked, 10, 'refuse');
    s.write(Buffer.alloc(11));
    await expect(p).rejects.toBeInstanceOf(RequestBodyTooLargeError);
  });

  it('rejects when the client goes away mid-body', async () => {
    const s = new PassThrough();
    const p = readRequestBody(s, chunked, 10, 'stream');
    s.write(Buffer.from('01'));
    s.destroy(new Error('reset'));
    await expect(p).rejects.toThrow('reset');
  });
});
