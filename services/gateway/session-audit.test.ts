import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  RequestSchema,
  ResponseSchema,
  SessionClosedSchema,
} from '../../proto/gen/gatehouse/v1/events_pb.js';
import { decodeEvent } from '../shared/events/codec.js';
import { SessionEvents } from '../shared/events/session-events.js';
import { PublishRefusedError } from '../shared/log/errors.js';
import { MemoryPublisher } from '../../dev/memory-publisher.js';
import { SessionAudit } from './session-audit.js';

const MAX = 32 * 1024;

function setup() {
  const publisher = new MemoryPublisher();
  const events = new SessionEvents({
    sessionId: 's-1',
    nodeId: 'n',
    protocol: 'postgres',
    connection: { name: 'demo-pg', tags: {} },
  });
  return { publisher, audit: new SessionAudit(events, publisher, 'sessions', MAX) };
}

describe('SessionAudit', () => {
  it('publishes an event that fits as one record, owned by the session', () => {
    const { publisher, audit } = setup();
    audit.batched({ case: 'request', value: create(RequestSchema, { requestId: 1, text: 'select 1' }) });
    expect(publisher.records).toHaveLength(1);
    expect(publisher.records[0]!.owner).toBe(audit);
    expect(publisher.records[0]!.seq).toBe(1n);
  });

  it('splits a large event into bounded records with consecutive seqs; durable waits for all', async () => {
    const { publisher, audit } = setup();
    const data = Buffer.alloc(200_000, 7);
    await audit.durable({ case: 'response', value: create(ResponseSchema, { requestId: 2, data }) });
    expect(publisher.records.length).toBeGreaterThan(6);
    for (const r of publisher.records) expect(r.value.length).toBeLessThanOrEqual(MAX);
    const decoded = publisher.records.map((r) => decodeEvent(r.value));
    expect(decoded.map((e) => e.seq)).toEqual(decoded.map((_, i) => BigInt(i + 1)));
    expect(decoded[0]!.continued).toBe(decoded.length - 1);
  });

  it('on a refusal: one marker, one failure callback, later events refused, the close still recorded', async () => {
    const { publisher, audit } = setup();
    const failures: string[] = [];
    audit.onFailure((err) => failures.push(err.reason));
    audit.batched({ case: 'request', value: create(RequestSchema, { requestId: 1, text: 'select 1' }) });
    const err = new PublishRefusedError('MESSAGE_TOO_LARGE', 'too large');
    audit.refused(err, [publisher.records[0]!]);
    audit.refused(err, [publisher.records[0]!]);
    expect(failures).toEqual(['MESSAGE_TOO_LARGE']);
    const markers = publisher.records
      .map((r) => decodeEvent(r.value))
      .filter((e) => e.body.case === 'auditFailure');
    expect(markers).toHaveLength(2); // each refusal is recorded
    const marker = markers[0]!;
    if (marker.body.case !== 'auditFailure') throw new Error('not a marker');
    expect(marker.body.value.refusedSeqs).toEqual([1n]);
    expect(marker.body.value.error).toBe('MESSAGE_TOO_LARGE');
    expect(() =>
      audit.batched({
        case: 'response',
        value: create(ResponseSchema, { requestId: 1, data: Buffer.from('x') }),
      }),
    ).toThrow(PublishRefusedError);
    expect(() => audit.assertAccepting()).toThrow(PublishRefusedError);
    await expect(
      audit.durable({ case: 'request', value: create(RequestSchema, { requestId: 2, text: 'select 2' }) }),
    ).rejects.toBeInstanceOf(PublishRefusedError);
    audit.batched({ case: 'sessionClosed', value: create(SessionClosedSchema, { reason: 'audit refused' }) });
    expect(decodeEvent(publisher.records.at(-1)!.value).body.case).toBe('sessionClosed');
  });
});
