import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import { afterAll, describe, expect, it } from 'vitest';
import { ResponseSchema } from '../../proto/gen/gatehouse/v1/events_pb.js';
import { decodeEvent, encodeEvent } from '../../services/shared/events/codec.js';
import { SessionEvents } from '../../services/shared/events/session-events.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import type { ConsumedRecord } from '../../services/shared/log/consumer.js';
import { PublishBufferFullError, PublishUnavailableError } from '../../services/shared/log/errors.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import type { PublisherOptions } from '../../services/shared/log/publisher.js';
import { brokerCount, testKafka, testLogger, uniqueTopic } from '../support/kafka.js';
import { stackCommand } from '../support/stack.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function publisher(opts: Partial<PublisherOptions> = {}): KafkaPublisher {
  const p = new KafkaPublisher(testKafka('test-publisher'), testLogger, opts);
  p.start();
  cleanups.push(() => p.close(5_000));
  return p;
}

function sessionFactory(n: number): SessionEvents[] {
  return Array.from(
    { length: n },
    () =>
      new SessionEvents({
        nodeId: 'test-node',
        protocol: 'postgres',
        connection: { name: 'demo-pg', tags: {} },
      }),
  );
}

function record(topic: string, s: SessionEvents, size = 100) {
  const event = s.next({
    case: 'response',
    value: create(ResponseSchema, { frame: 'stdout', data: new Uint8Array(size) }),
  });
  return { topic, key: s.sessionId, value: Buffer.from(encodeEvent(event)) };
}

/** Consumes `topic` in a fresh group until `expected` records arrived or `timeoutMs` passed. */
async function consumeAll(topic: string, expected: number, timeoutMs = 60_000): Promise<ConsumedRecord[]> {
  const got: ConsumedRecord[] = [];
  const unique = new Set<string>();
  const consumer = new EventConsumer(testKafka('test-consumer'), testLogger, {
    groupId: `test-${randomUUID()}`,
    topics: [topic],
    partitionsConsumedConcurrently: 3,
  });
  void consumer.start((records) => {
    got.push(...records);
    for (const r of records) unique.add(decodeEvent(r.value).eventId);
    return Promise.resolve();
  });
  // Count distinct events: redelivered duplicates must not end the wait early.
  const deadline = Date.now() + timeoutMs;
  while (unique.size < expected && Date.now() < deadline) await sleep(100);
  await sleep(500); // let stray duplicates arrive, if any
  await consumer.stop();
  return got;
}

/** Per session: events lost (seq never seen), reordered (a first occurrence after a higher seq), duplicated. */
function audit(records: readonly ConsumedRecord[], expectedPerSession: ReadonlyMap<string, number>) {
  const byPartition = [...records].sort((a, b) =>
    a.partition === b.partition ? Number(BigInt(a.offset) - BigInt(b.offset)) : a.partition - b.partition,
  );
  const seen = new Map<string, Set<bigint>>();
  const maxSeq = new Map<string, bigint>();
  let reordered = 0;
  let duplicated = 0;
  for (const r of byPartition) {
    const e = decodeEvent(r.value);
    const set = seen.get(e.sessionId) ?? new Set<bigint>();
    seen.set(e.sessionId, set);
    if (set.has(e.seq)) {
      duplicated++;
      continue;
    }
    if ((maxSeq.get(e.sessionId) ?? 0n) > e.seq) reordered++;
    set.add(e.seq);
    if ((maxSeq.get(e.sessionId) ?? 0n) < e.seq) maxSeq.set(e.sessionId, e.seq);
  }
  let lost = 0;
  const missing: string[] = [];
  for (const [session, count] of expectedPerSession) {
    const set = seen.get(session) ?? new Set<bigint>();
    for (let i = 1n; i <= BigInt(count); i++) {
      if (set.has(i)) continue;
      lost++;
      if (missing.length < 10) missing.push(`${session.slice(0, 8)}#${i}/${count}`);
    }
  }
  return { lost, reordered, duplicated, received: records.length, missing };
}

describe('audit event log on Kafka', () => {
  it('keeps every session in order across many concurrent sessions', async () => {
    const topic = await uniqueTopic('order');
    const p = publisher();
    const sessions = sessionFactory(200);
    const perSession = 50;
    const counts = new Map(sessions.map((s) => [s.sessionId, perSession]));
    const durables: Promise<void>[] = [];
    for (let i = 0; i < perSession; i++) {
      for (const s of sessions) {
        const r = record(topic, s);
        // Every tenth event is durable (a state-changing request); the rest are batched.
        if (i % 10 === 0) durables.push(p.publishDurable(r));
        else p.publishBatched(r);
      }
      await sleep(0);
    }
    await Promise.all(durables);
    const got = await consumeAll(topic, sessions.length * perSession);
    const result = audit(got, counts);
    console.log(`ordering: ${JSON.stringify(result)}`);
    expect(result).toMatchObject({ lost: 0, reordered: 0, duplicated: 0, received: 10_000 });
  });

  it('loses and reorders nothing when one of three brokers is killed during a steady publish', async () => {
    if (brokerCount() < 3) throw new Error('this test needs the three-broker stack');
    const topic = await uniqueTopic('broker-kill');
    const p = publisher({ failClosedAfterMs: 30_000, durableTimeoutMs: 30_000 });
    const sessions = sessionFactory(40);
    const counts = new Map<string, number>(sessions.map((s) => [s.sessionId, 0]));
    let published = 0;
    const durables: Promise<void>[] = [];
    const started = Date.now();
    let killed = false;
    try {
      while (Date.now() - started < 15_000) {
        if (!killed && Date.now() - started > 4_000) {
          stackCommand('kafka-kill', '2');
          killed = true;
        }
        for (const s of sessions) {
          const r = record(topic, s);
          // With two of three brokers up (min.insync.replicas=2) nothing may be refused: a throw fails the test.
          if (published % 50 === 0) durables.push(p.publishDurable(r));
          else p.publishBatched(r);
          counts.set(s.sessionId, (counts.get(s.sessionId) ?? 0) + 1);
          published++;
        }
        await sleep(10);
      }
      await Promise.all(durables);
    } finally {
      if (killed) stackCommand('kafka-start', '2');
    }
    const got = await consumeAll(topic, published, 60_000);
    const result = audit(got, counts);
    if (result.lost > 0) console.log(`broker kill: topic ${topic}, missing ${result.missing.join(' ')}`);
    console.log(
      `broker kill: published=${published} received=${result.received} lost=${result.lost} ` +
        `reordered=${result.reordered} duplicated=${result.duplicated}`,
    );
    expect(result.lost).toBe(0);
    expect(result.reordered).toBe(0);
    expect(published).toBeGreaterThan(10_000);
  }, 240_000);

  it('fails closed with all brokers stopped: bounded buffer, typed error, recovery when they return', async () => {
    const topic = await uniqueTopic('fail-closed');
    const maxBufferedEvents = 2_000;
    const p = publisher({ maxBufferedEvents, failClosedAfterMs: 3_000, durableTimeoutMs: 2_000 });
    const s = sessionFactory(1)[0]!;
    await p.publishDurable(record(topic, s)); // connected and the topic's leaders known
    let accepted = 1;
    stackCommand('kafka-stop-all');
    try {
      // A durable publish cannot be acknowledged: the caller gets a typed error instead of waiting forever.
      await expect(p.publishDurable(record(topic, s))).rejects.toMatchObject({
        code: 'GH_ERR_PUBLISH_TIMEOUT',
      });
      accepted++;
      let refusal: unknown;
      const deadline = Date.now() + 30_000;
      while (refusal === undefined && Date.now() < deadline) {
        try {
          p.publishBatched(record(topic, s));
          accepted++;
        } catch (err) {
          refusal = err;
        }
        if (accepted % 100 === 0) await sleep(10);
      }
      expect(refusal).toBeDefined();
      expect(refusal instanceof PublishBufferFullError || refusal instanceof PublishUnavailableError).toBe(
        true,
      );
      expect(p.stats().bufferedEvents).toBeLessThanOrEqual(maxBufferedEvents);
      console.log(
        `fail closed: refused with ${(refusal as { code: string }).code} after ${accepted} accepted events; ` +
          `buffered=${p.stats().bufferedEvents}`,
      );
      // The refused event consumed a sequence number that was never accepted; a real session stops here.
    } finally {
      stackCommand('kafka-start-all');
    }
    const deadline = Date.now() + 90_000;
    while (p.stats().bufferedEvents > 0 && Date.now() < deadline) await sleep(250);
    expect(p.stats().bufferedEvents).toBe(0);
    expect(() => p.assertAccepting()).not.toThrow();
    const got = await consumeAll(topic, accepted, 60_000);
    const result = audit(got, new Map([[s.sessionId, accepted]]));
    console.log(`fail closed recovery: ${JSON.stringify(result)}`);
    expect(result.lost).toBe(0);
    expect(result.reordered).toBe(0);
  });

  it('a restarted consumer resumes at the committed offset with nothing skipped', async () => {
    const topic = await uniqueTopic('resume', 3);
    const p = publisher();
    const s = sessionFactory(30);
    const groupId = `test-resume-${randomUUID()}`;
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) for (const x of s) p.publishBatched(record(topic, x));
      await p.publishDurable(record(topic, s[0]!));
    };
    await publish(20);
    const firstTotal = 20 * 30 + 1;
    const seen: string[] = [];
    let failOnce = true;
    const first = new EventConsumer(testKafka(), testLogger, { groupId, topics: [topic] });
    void first.start((records) => {
      // A failing handler must not commit: the same batch comes again.
      if (failOnce) {
        failOnce = false;
        return Promise.reject(new Error('transient failure'));
      }
      for (const r of records) seen.push(`${r.partition}:${r.offset}`);
      return Promise.resolve();
    });
    const deadline = Date.now() + 60_000;
    while (seen.length < firstTotal && Date.now() < deadline) await sleep(100);
    await first.stop();
    expect(new Set(seen).size).toBe(firstTotal);

    await publish(10);
    const second: string[] = [];
    const next = new EventConsumer(testKafka(), testLogger, { groupId, topics: [topic] });
    void next.start((records) => {
      for (const r of records) second.push(`${r.partition}:${r.offset}`);
      return Promise.resolve();
    });
    const d2 = Date.now() + 60_000;
    while (second.length < 10 * 30 + 1 && Date.now() < d2) await sleep(100);
    await sleep(500);
    await next.stop();
    const overlap = second.filter((o) => seen.includes(o));
    console.log(`resume: first=${seen.length} second=${second.length} overlap=${overlap.length}`);
    expect(overlap).toEqual([]);
    expect(second.length).toBe(10 * 30 + 1);
  });
});
