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

function setup(cacheSize = 100) {
  const fake = new FakeWriter();
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
    await writer.write(items(events));
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
    await writer.write(items(events.slice(decisionAt, decisionAt + 1)));
    expect(fake.lookups).toEqual([[{ sessionId: 's2', requestId: 1 }]]);
    expect(fake.rows[0]).toMatchObject({ kind: 'decision', statement: 'stored #1' });
  });

  it('labels approvals-topic events by approval id, without lookups or a session summary', async () => {
    const { fake, writer } = setup();
    await writer.write(items(approvalStream('apr-9', 'gw-session')));
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
    await writer.write([{ type: 'dead', letter }]);
    expect(fake.dead).toEqual([letter]);
    expect(fake.rows).toEqual([]);
  });
});
