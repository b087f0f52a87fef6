import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  RequestSchema,
  ResponseSchema,
  SessionClosedSchema,
} from '../../proto/gen/gatehouse/v1/events_pb.js';
import { decodeEvent, decodeRecord, encodeEvent } from '../shared/events/codec.js';
import { encodeBatch, encodeShared } from '../shared/events/event-batch.js';
import type { Event } from '../shared/events/codec.js';
import { SessionEvents } from '../shared/events/session-events.js';
import { PublishBufferFullError, PublishRefusedError } from '../shared/log/errors.js';
import type { RecordSource } from '../shared/log/publisher.js';
import { MemoryPublisher } from '../../dev/memory-publisher.js';
import { SessionAudit } from './session-audit.js';

const MAX = 32 * 1024;

/** A publisher that defers like the Kafka one: sources are taken by `produce()`, in the order they deferred. */
class DeferringPublisher extends MemoryPublisher {
  readonly sources = new Set<RecordSource>();
  maxBytes = Number.MAX_SAFE_INTEGER;

  defer(source: RecordSource): void {
    this.sources.add(source);
  }

  override assertAccepting(bytes = 0): void {
    super.assertAccepting();
    if (bytes > this.maxBytes) throw new PublishBufferFullError(`${this.maxBytes} bytes`);
  }

  /** What the send loop does before each produce request. */
  produce(): void {
    for (const s of this.sources) {
      const r = s.takeRecord();
      if (r) this.calls.push({ mode: 'batched', record: r });
    }
    this.sources.clear();
  }

  expanded(): Event[] {
    return this.records.flatMap((r) => decodeRecord(r.value));
  }
}

function setup() {
  const publisher = new DeferringPublisher();
  const events = new SessionEvents({
    sessionId: 's-1',
    nodeId: 'n',
    protocol: 'postgres',
    connection: { name: 'demo-pg', tags: { env: 'x' } },
    identity: { sub: 'u', email: 'u@example.com', groups: ['g'], agent: true, issuer: 'i', client_id: 'c' },
  });
  return { publisher, events, audit: new SessionAudit(events, publisher, 'sessions', MAX) };
}

const request = (requestId: number) =>
  ({ case: 'request', value: create(RequestSchema, { requestId, text: `select ${requestId}` }) }) as const;
const rows = (requestId: number, bytes = 100) =>
  ({
    case: 'response',
    value: create(ResponseSchema, { requestId, frame: 'data_rows', data: Buffer.alloc(bytes, 7), rows: 1 }),
  }) as const;

describe('SessionAudit with a deferring publisher (event batches)', () => {
  it('gathers a round trip into one record that states identity and connection once', () => {
    const { publisher, audit } = setup();
    audit.batched(request(1), 'rev-1');
    audit.batched(rows(1));
    audit.batched(rows(1));
    expect(publisher.records).toHaveLength(0);
    publisher.produce();
    expect(publisher.records).toHaveLength(1);
    const record = publisher.records[0]!;
    expect([record.seq, record.lastSeq, record.owner]).toEqual([1n, 3n, audit]);
    expect(decodeEvent(record.value).body.case).toBe('batch');
    const events = publisher.expanded();
    expect(
      events.map((e) => [e.seq, e.body.case, e.identity?.sub, e.connection?.name, e.policyRevision]),
    ).toEqual([
      [1n, 'request', 'u', 'demo-pg', 'rev-1'],
      [2n, 'response', 'u', 'demo-pg', ''],
      [3n, 'response', 'u', 'demo-pg', ''],
    ]);
    expect(record.value.toString('latin1').split('u@example.com')).toHaveLength(2);
  });

  it('a durable event carries everything gathered before it, in one acknowledged record', async () => {
    const { publisher, audit } = setup();
    audit.batched(request(1));
    await audit.durable(request(2));
    expect(publisher.calls.map((c) => c.mode)).toEqual(['durable']);
    publisher.produce(); // nothing left
    expect(publisher.expanded().map((e) => e.seq)).toEqual([1n, 2n]);
  });

  it('starts a new record before maxEventBytes, every frame in order', () => {
    const { publisher, audit } = setup();
    for (let i = 0; i < 100; i++) audit.batched(rows(1, 1000));
    publisher.produce();
    expect(publisher.records.length).toBeGreaterThan(3);
    for (const r of publisher.records) expect(r.value.length).toBeLessThanOrEqual(MAX);
    expect(publisher.expanded().map((e) => e.seq)).toEqual(
      Array.from({ length: 100 }, (_, i) => BigInt(i + 1)),
    );
  });

  it('splits an event over maxEventBytes into continuations across bounded records', async () => {
    const { publisher, audit } = setup();
    audit.batched(request(1));
    await audit.durable(rows(1, 200_000));
    for (const r of publisher.records) expect(r.value.length).toBeLessThanOrEqual(MAX);
    const events = publisher.expanded();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => BigInt(i + 1)));
    expect(events[1]!.continued).toBe(events.length - 2);
    expect(events.slice(2).every((e) => e.body.case === 'continuation' && e.identity === undefined)).toBe(
      true,
    );
  });

  it('never mixes identities in one record', () => {
    const { publisher, audit, events } = setup();
    audit.batched(request(1));
    events.setIdentity({ sub: 'v', email: '', groups: [], agent: false, issuer: 'i', client_id: 'c' });
    audit.batched(request(2));
    publisher.produce();
    expect(publisher.records).toHaveLength(2);
    expect(publisher.expanded().map((e) => e.identity?.sub)).toEqual(['u', 'v']);
  });

  it('checks every event against the publisher bounds, counting what is gathered (fail closed)', () => {
    const { publisher, audit } = setup();
    publisher.maxBytes = 2_000;
    audit.batched(rows(1, 1000));
    expect(() => audit.batched(rows(1, 1000))).toThrow(PublishBufferFullError);
    publisher.produce();
    expect(publisher.expanded()).toHaveLength(1);
  });

  it('a refused batch names all its seqs; later events are refused, the close is still recorded', () => {
    const { publisher, audit } = setup();
    const failures: string[] = [];
    audit.onFailure((err) => failures.push(err.reason));
    audit.batched(request(1));
    audit.batched(rows(1));
    publisher.produce();
    audit.refused(new PublishRefusedError('CORRUPT_MESSAGE', 'corrupt'), [publisher.records[0]!]);
    expect(failures).toEqual(['CORRUPT_MESSAGE']);
    expect(() => audit.batched(rows(1))).toThrow(PublishRefusedError);
    audit.batched({ case: 'sessionClosed', value: create(SessionClosedSchema, { reason: 'audit refused' }) });
    publisher.produce();
    const events = publisher.expanded();
    const marker = events.find((e) => e.body.case === 'auditFailure');
    if (marker?.body.case !== 'auditFailure') throw new Error('no marker');
    expect(marker.body.value.refusedSeqs).toEqual([1n, 2n]);
    expect(events.at(-1)!.body.case).toBe('sessionClosed');
  });
});

describe('SessionAudit batches after a refused event', () => {
  it('keeps each record gap-free: an event refused after its seq was spent ends the batch', () => {
    const { publisher, audit } = setup();
    publisher.maxBytes = 5_000;
    audit.batched(rows(1, 1000));
    expect(() => audit.batched(rows(1, 10_000))).toThrow(PublishBufferFullError); // seq 2 spent, not published
    audit.batched(rows(1, 1000));
    publisher.produce();
    expect(publisher.records.map((r) => [r.seq, r.lastSeq])).toEqual([
      [1n, 1n],
      [3n, 3n],
    ]);
    expect(publisher.expanded().map((e) => e.seq)).toEqual([1n, 3n]);
  });
});

describe('SessionAudit batch bytes', () => {
  it('are those of encodeBatch over the frames encodeEvent writes (continuations, odd UTF-8, large bodies)', async () => {
    const { publisher, audit, events } = setup();
    const made = new Map<bigint, Event>();
    const nextFrame = events.nextFrame.bind(events);
    events.nextFrame = (body, revision) => {
      const e = nextFrame(body, revision);
      made.set(e.seq, e);
      return e;
    };
    const odd = ['é中😀', 'lone \ud800 surrogate', 'b'.repeat(128), '\u007f\u0080', ''];
    for (let i = 0; i < 60; i++) {
      const text = odd[i % odd.length]!;
      audit.batched(request(i), text);
      audit.batched({
        case: 'response',
        value: create(ResponseSchema, {
          requestId: i,
          frame: text,
          text,
          data: Buffer.alloc((i * 997) % 3000, i),
        }),
      });
      if (i % 20 === 7) await audit.durable(rows(i, 100_000)); // continuations across records
      if (i % 9 === 0) publisher.produce();
    }
    publisher.produce();
    expect(publisher.records.length).toBeGreaterThan(6);
    const shared = encodeShared(events.shared());
    let unsplit = 0;
    for (const r of publisher.records) {
      const envelope = decodeEvent(r.value);
      if (envelope.body.case !== 'batch') throw new Error('not a batch');
      const frames = envelope.body.value.events.map((f) => {
        // A frame of an event that was not split is compared with the event the session made.
        const own = made.get(f.seq);
        const whole = own !== undefined && f.body.case !== 'continuation' && f.continued === 0;
        if (whole) unsplit++;
        return { eventId: f.eventId, seq: f.seq, tsMicros: f.tsMicros, bytes: encodeEvent(whole ? own : f) };
      });
      expect(Buffer.from(r.value).equals(encodeBatch(shared, frames))).toBe(true);
    }
    expect(unsplit).toBe(120);
  });
});
