import { describe, expect, it } from 'vitest';
import type { Event } from '../../shared/events/codec.js';
import { createLogger } from '../../shared/logger.js';
import { createRecorderMetrics } from '../metrics.js';
import type { EventRow } from '../store/event-row.js';
import type { DeadLetter } from '../store/event-writer.js';
import { approvalStream, postgresScenario } from '../../../dev/recorder-fixtures/session-scenario.js';
import { BatchWriter } from './batch-writer.js';
import type { IngestItem } from './decode-records.js';
import { StatementCache } from './statement-cache.js';

class FakeWriter {
  rows: EventRow[] = [];
  dead: DeadLetter[] = [];
  refreshed: string[][] = [];
  lookups: { sessionId: string; requestId: number }[][] = [];
  insertEvents(rows: readonly EventRow[]) {
    this.rows.push(...rows);
    return Promise.resolve();
  }
  insertDeadLetters(letters: readonly DeadLetter[]) {
    this.dead.push(...letters);
    return Promise.resolve();
  }
  refreshSessions(ids: readonly string[]) {
    this.refreshed.push([...ids]);
    return Promise.resolve();
  }
  lookupStatements(keys: readonly { sessionId: string; requestId: number }[]) {
    this.lookups.push([...keys]);
    return Promise.resolve(
      new Map(keys.map((k) => [`${k.sessionId}\u0000${k.requestId}`, `stored #${k.requestId}`])),
    );
  }
}

const items = (events: readonly Event[]): IngestItem[] =>
  events.map((event, i) => ({ type: 'event', event, at: { topic: 't', partition: 0, offset: String(i) } }));

/** A store that encodes ahead, as ClickHouse's does (rows stand for their bytes here). */
class EncodingWriter extends FakeWriter {
  encodedAt: number[] = [];
  inserts: number[][] = [];
  readonly encoded = {
    encode: (taken: Iterable<EventRow>, maxRows: number) => {
      const rows = [...taken];
      this.encodedAt.push(rows.length);
      const out = [];
      for (let i = 0; i < rows.length; i += maxRows) {
        const chunk = rows.slice(i, i + maxRows);
        out.push({
          body: Buffer.from(JSON.stringify(chunk.map((r) => r.event_id))),
          rows: chunk.length,
          chunk,
        });
      }
      return out;
    },
    insert: (batches: readonly { body: Buffer; rows: number }[]) => {
      this.inserts.push(batches.map((b) => b.rows));
      for (const b of batches) this.rows.push(...(b as unknown as { chunk: EventRow[] }).chunk);
      return Promise.resolve();
    },
  };
}

function setup(cacheSize = 100, fake = new FakeWriter()) {
  const writer = new BatchWriter({
    writer: fake,
    cache: new StatementCache(cacheSize),
    maxRows: 10,
    metrics: createRecorderMetrics(),
    log: createLogger({ service: 'test', level: 'silent' }),
  });
  return { fake, writer };
}

describe('BatchWriter', () => {
  it('labels decisions from the same batch without a lookup, and refreshes the touched sessions', async () => {
    const { fake, writer } = setup();
    const events = postgresScenario({ sessionId: 's1' });
    await writer.write([writer.prepare(items(events))]);
    expect(fake.lookups).toEqual([]);
    expect(fake.rows.filter((r) => r.kind === 'decision').map((r) => r.statement)).toEqual([
      'SELECT id, name FROM users ORDER BY id',
      'DELETE FROM users',
      "UPDATE users SET name = 'bob' WHERE id = 2",
    ]);
    expect(fake.refreshed).toEqual([events.map(() => 's1')]);
  });

  it('looks up requests recorded in an earlier batch (e.g. before a restart)', async () => {
    const { fake, writer } = setup(0);
    const events = postgresScenario({ sessionId: 's2' });
    const decisionAt = events.findIndex((e) => e.body.case === 'decision');
    await writer.write([writer.prepare(items(events.slice(decisionAt, decisionAt + 1)))]);
    expect(fake.lookups).toEqual([[{ sessionId: 's2', requestId: 1 }]]);
    expect(fake.rows[0]).toMatchObject({ kind: 'decision', statement: 'stored #1' });
  });

  it('labels approvals-topic events by approval id, without lookups or a session summary', async () => {
    const { fake, writer } = setup();
    await writer.write([writer.prepare(items(approvalStream('apr-9', 'gw-session')))]);
    expect(fake.lookups).toEqual([]);
    expect(fake.refreshed).toEqual([[]]);
    expect(fake.rows.map((r) => [r.session_id, r.kind, r.code, r.statement])).toEqual([
      ['approval:apr-9', 'approval_requested', '', "UPDATE users SET name = 'bob' WHERE id = 2"],
      ['approval:apr-9', 'approval_reviewed', 'approve', "UPDATE users SET name = 'bob' WHERE id = 2"],
      ['approval:apr-9', 'approval_decided', 'approved', "UPDATE users SET name = 'bob' WHERE id = 2"],
    ]);
  });

  it('passes dead letters through', async () => {
    const { fake, writer } = setup();
    const letter: DeadLetter = {
      topic: 't',
      partition: 1,
      offset: '9',
      timestamp: '0',
      key: null,
      value: new Uint8Array([1]),
      errorCode: 'X',
      error: 'bad',
    };
    await writer.write([writer.prepare([{ type: 'dead', letter }])]);
    expect(fake.dead).toEqual([letter]);
    expect(fake.rows).toEqual([]);
  });

  it('encodes a batch as it arrives (a write holds bytes, not rows) and sends what was encoded', async () => {
    const fake = new EncodingWriter();
    const { writer } = setup(100, fake);
    const events = postgresScenario({ sessionId: 's3' });
    const first = writer.prepare(items(events.slice(0, 4)));
    const second = writer.prepare(items(events.slice(4)));
    expect(fake.encodedAt).toEqual([4, events.length - 4]);
    expect(first.rows).toEqual([]);
    expect(fake.inserts).toEqual([]);
    await writer.write([first, second]);
    expect(fake.encodedAt).toHaveLength(2); // nothing was left for the write to encode
    expect(fake.inserts).toEqual([[...first.encoded, ...second.encoded].map((b) => b.rows)]);
    expect(fake.rows.map((r) => r.seq)).toEqual(events.map((e) => e.seq));
    expect(fake.refreshed).toEqual([events.map(() => 's3')]);
  });

  it('labels at the write an approval event whose request text comes in a batch prepared after it', async () => {
    const fake = new EncodingWriter();
    const { writer } = setup(100, fake);
    const stream = approvalStream('apr-7', 'gw-session');
    const early = writer.prepare(items(stream.slice(1))); // reviewed and decided, before the request's batch
    expect(early.late).toHaveLength(2);
    const request = writer.prepare(items(stream.slice(0, 1)));
    await writer.write([early, request]);
    expect(fake.lookups).toEqual([]);
    expect(fake.rows.map((r) => [r.kind, r.statement])).toEqual([
      ['approval_requested', "UPDATE users SET name = 'bob' WHERE id = 2"],
      ['approval_reviewed', "UPDATE users SET name = 'bob' WHERE id = 2"],
      ['approval_decided', "UPDATE users SET name = 'bob' WHERE id = 2"],
    ]);
  });
});
