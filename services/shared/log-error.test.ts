import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PublishRefusedError, PublishUnavailableError } from './log/errors.js';
import { createLogger } from './logger.js';
import { errorFields, logError } from './log-error.js';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ service: 'test', level: 'debug', destination });
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('errorFields', () => {
  it('keeps code, message, id and the cause chain, and drops every other field', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      rows: ['secret'],
    });
    const err = Object.assign(new PublishUnavailableError(1234, { cause }), {
      id: 'e-1',
      payload: 'SELECT 1',
    });
    expect(errorFields(err)).toEqual({
      code: 'GH_ERR_PUBLISH_UNAVAILABLE',
      message: 'audit log (Kafka) unreachable for 1234 ms',
      id: 'e-1',
      cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
    });
  });

  it('bounds the cause depth and the message length, and accepts thrown non-errors', () => {
    let err: Error = new Error('x'.repeat(5_000));
    for (let i = 0; i < 10; i++) err = new Error(`level ${i}`, { cause: err });
    let depth = 0;
    for (let f = errorFields(err); f.cause; f = f.cause) depth++;
    expect(depth).toBe(3);
    expect(errorFields(new Error('y'.repeat(5_000))).message).toHaveLength(1_000);
    expect(errorFields('plain string')).toEqual({ message: 'plain string' });
    expect(errorFields({ name: 'Weird' })).toEqual({ message: 'Weird' });
  });
});

describe('logError', () => {
  it('logs { ...fields, err } at the asked level, with a stack only when asked', () => {
    const { log, lines } = capture();
    const err = new PublishRefusedError('MESSAGE_TOO_LARGE', 'the broker refused a record');
    logError(log, err, 'record refused', { request: 7 });
    logError(log, new Error('boom'), 'unexpected', { level: 'debug', withStack: true });
    const [first, second] = lines();
    expect(first).toMatchObject({
      level: 50,
      msg: 'record refused',
      request: 7,
      err: { code: 'GH_ERR_PUBLISH_REFUSED', message: 'the broker refused a record' },
    });
    expect(first?.['err']).not.toHaveProperty('stack');
    expect(first?.['err']).not.toHaveProperty('reason');
    expect(second).toMatchObject({ level: 20, msg: 'unexpected', err: { message: 'boom' } });
    expect((second?.['err'] as { stack: string }).stack).toMatch(/^Error: boom\n\s+at /);
    expect(second).not.toHaveProperty('withStack');
  });

  it('gives an Error logged as is ({ err }) the same shape, with its stack, never its payload fields', () => {
    const { log, lines } = capture();
    const err = Object.assign(new Error('query failed'), { code: 'E1', query: 'SELECT secret' });
    log.error({ err }, 'raw');
    const [line] = lines();
    expect(Object.keys(line?.['err'] as object).sort()).toEqual(['code', 'message', 'stack']);
    expect(line).toMatchObject({ err: { code: 'E1', message: 'query failed' } });
  });
});
