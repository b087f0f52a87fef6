import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../shared/events/codec.js';
import type { Event } from '../../shared/events/codec.js';
import type { EventPublisher, LogRecord } from '../../shared/log/publisher.js';
import { createLogger } from '../../shared/logger.js';
import { LoginRefusals } from './login-refusals.js';
import { RefusalReason } from './refusal-reason.js';

const log = createLogger({ service: 'test', level: 'silent' });

/** An in-memory publisher (the unit under test only hands records over). */
function memoryPublisher(refuse = false) {
  const records: LogRecord[] = [];
  const publisher: EventPublisher = {
    publishBatched(r) {
      if (refuse) throw new Error('refusing');
      records.push(r);
    },
    publishDurable: () => Promise.reject(new Error('not used')),
    assertAccepting: () => undefined,
    stats: () => ({
      bufferedEvents: 0,
      bufferedBytes: 0,
      sentEvents: 0,
      sentBatches: 0,
      failedSends: 0,
      refusedRecords: 0,
      lastBatchLatencyMs: 0,
      unavailableForMs: 0,
    }),
    close: () => Promise.resolve({ unflushed: 0 }),
  };
  return { publisher, records };
}

function refusals(publisher: EventPublisher, now: () => number = () => 0) {
  let unrecorded = 0;
  const r = new LoginRefusals({
    nodeId: 'n1',
    publisher,
    topic: 't',
    log,
    limits: { burst: 2, perSecond: 1, maxSources: 10, summaryIntervalMs: 1_000 },
    metrics: { unrecorded: () => unrecorded++, suppressed: () => undefined },
    now,
  });
  return { r, unrecorded: () => unrecorded };
}

const body = (e: Event) => (e.body.case === 'loginRefused' ? e.body.value : undefined);

describe('LoginRefusals', () => {
  it('publishes one self-contained stream per refusal, with client text made printable and bounded', () => {
    const { publisher, records } = memoryPublisher();
    const { r } = refusals(publisher);
    r.record({
      protocol: 'postgres',
      reason: RefusalReason.badToken,
      code: 'GH_ERR_PG_AUTH',
      clientAddr: '10.1.2.3:5555',
      connection: `evil\u0000\u001b[31m${'x'.repeat(500)}`,
      detail: 'token authentication failed: token is malformed',
      attributes: { application_name: 'psql\n' },
    });
    expect(records).toHaveLength(1);
    const e = decodeEvent(records[0]!.value);
    expect(records[0]!.key).toBe(e.sessionId);
    expect(e.seq).toBe(1n);
    expect(e.identity).toBeUndefined();
    expect(e.connection?.name.startsWith('evil??[31m')).toBe(true);
    expect(e.connection?.name.length).toBeLessThanOrEqual(129);
    expect(body(e)).toMatchObject({
      reason: 'bad_token',
      clientAddr: '10.1.2.3:5555',
      tokenVerified: false,
      suppressed: 0,
      attributes: { application_name: 'psql?' },
    });
  });

  it('marks a verified identity, and rate-limits per source with a summary', () => {
    let now = 0;
    const { publisher, records } = memoryPublisher();
    const { r } = refusals(publisher, () => now);
    const identity = {
      sub: 'u',
      email: 'u@x',
      groups: ['g'],
      agent: false,
      issuer: 'https://idp',
      client_id: 'c',
    };
    for (let i = 0; i < 5; i++) {
      r.record({
        protocol: 'ssh',
        reason: RefusalReason.expiredToken,
        code: 'GH_ERR_TOKEN_EXPIRED',
        clientAddr: `10.9.9.9:${1000 + i}`,
        connection: 'demo',
        detail: 'expired',
        identity,
      });
    }
    expect(records).toHaveLength(2);
    const first = decodeEvent(records[0]!.value);
    expect(first.identity?.sub).toBe('u');
    expect(body(first)?.tokenVerified).toBe(true);
    now += 10_000;
    r.flush();
    expect(records).toHaveLength(3);
    const summary = decodeEvent(records[2]!.value);
    expect(body(summary)).toMatchObject({
      reason: 'rate_limited',
      clientAddr: '10.9.9.9',
      suppressed: 3,
      attributes: { expired_token: '3' },
    });
    expect(summary.identity).toBeUndefined();
  });

  it('a refusing audit log is counted, never thrown to the listener', () => {
    const { publisher } = memoryPublisher(true);
    const { r, unrecorded } = refusals(publisher);
    expect(() =>
      r.record({
        protocol: 'ssh',
        reason: RefusalReason.authTimeout,
        code: 'GH_ERR_SSH_AUTH_TIMEOUT',
        clientAddr: '1.1.1.1:1',
        connection: '',
        detail: 'timed out',
      }),
    ).not.toThrow();
    expect(unrecorded()).toBe(1);
  });
});
