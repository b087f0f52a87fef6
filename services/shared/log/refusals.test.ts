import { describe, expect, it } from 'vitest';
import { isolateRefused, refusalReason } from './refusals.js';

/** A kafkajs-like protocol error. */
function protocolError(type: string): Error & { type: string; retriable: boolean } {
  return Object.assign(new Error(type), { type, retriable: false });
}

describe('refusalReason', () => {
  it('finds per-record refusals through kafkajs wrappers', () => {
    expect(refusalReason(protocolError('MESSAGE_TOO_LARGE'))).toBe('MESSAGE_TOO_LARGE');
    const wrapped = Object.assign(new Error('retries exceeded'), { cause: protocolError('CORRUPT_MESSAGE') });
    expect(refusalReason(wrapped)).toBe('CORRUPT_MESSAGE');
  });

  it('treats outages as retriable', () => {
    expect(refusalReason(new Error('Connection closed'))).toBeUndefined();
    expect(refusalReason(protocolError('NOT_LEADER_FOR_PARTITION'))).toBeUndefined();
    expect(refusalReason(protocolError('REQUEST_TIMED_OUT'))).toBeUndefined();
  });
});

describe('isolateRefused', () => {
  /** A broker that refuses any request holding a record of 100 or more and logs what it appended. */
  function broker() {
    const log: number[] = [];
    let requests = 0;
    const send = (items: readonly number[]): Promise<void> => {
      requests++;
      if (items.some((n) => n >= 100)) return Promise.reject(protocolError('MESSAGE_TOO_LARGE'));
      log.push(...items);
      return Promise.resolve();
    };
    return { log, send, requests: () => requests };
  }

  it('refuses only the bad records and delivers the rest in order', async () => {
    const b = broker();
    const items = Array.from({ length: 64 }, (_, i) => (i === 17 || i === 40 ? 100 + i : i));
    const refused = await isolateRefused(items, protocolError('MESSAGE_TOO_LARGE'), b.send);
    expect(refused.map((r) => r.item)).toEqual([117, 140]);
    expect(refused.every((r) => r.reason === 'MESSAGE_TOO_LARGE')).toBe(true);
    expect(b.log).toEqual(items.filter((n) => n < 100));
    expect(b.requests()).toBeLessThan(30); // O(k log n), not one request per record
  });

  it('refuses a whole topic at once on an authorization error', async () => {
    const b = broker();
    const refused = await isolateRefused([1, 2, 3], protocolError('TOPIC_AUTHORIZATION_FAILED'), b.send);
    expect(refused.map((r) => r.item)).toEqual([1, 2, 3]);
    expect(b.requests()).toBe(0);
  });

  it('throws an outage met while isolating (the caller retries what is left)', async () => {
    let calls = 0;
    const send = (): Promise<void> =>
      ++calls === 2 ? Promise.reject(new Error('Connection closed')) : Promise.resolve();
    await expect(isolateRefused([1, 2, 3, 4], protocolError('MESSAGE_TOO_LARGE'), send)).rejects.toThrow(
      'Connection closed',
    );
  });

  it('throws an outage given as the first error', async () => {
    await expect(
      isolateRefused([1], new Error('Connection closed'), () => Promise.resolve()),
    ).rejects.toThrow('Connection closed');
  });
});
