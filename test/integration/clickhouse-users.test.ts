import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, ensureDatabase } from '../../services/recorder/clickhouse/client.js';
import type { ClickHouse, ClickHouseOptions } from '../../services/recorder/clickhouse/client.js';
import { ident, sql } from '../../services/recorder/clickhouse/quote.js';
import { parseRecorderConfig } from '../../services/recorder/config.js';
import { startRecorder } from '../../services/recorder/recorder.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import { postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import { clickhouseUrl } from '../support/clickhouse.js';
import { startRecorderAuth } from '../support/recorder-auth.js';
import type { RecorderAuth } from '../support/recorder-auth.js';
import { testKafka, testLogger, uniqueTopic } from '../support/kafka.js';
import { kafkaConnection, stackEnv, stackValue } from '../support/stack.js';

/**
 * The stack's ClickHouse users (deploy/stack/clickhouse.sh): `default` needs its password, `gatehouse_ddl` changes
 * the schema of `gatehouse` only, `gatehouse_recorder` inserts and reads there without DDL, `soc` only reads.
 */
type User = 'default' | 'gatehouse_ddl' | 'gatehouse_recorder' | 'soc';
const ENV: Record<User, string> = {
  default: 'GATEHOUSE_CLICKHOUSE',
  gatehouse_ddl: 'GATEHOUSE_CLICKHOUSE_DDL',
  gatehouse_recorder: 'GATEHOUSE_CLICKHOUSE_RECORDER',
  soc: 'GATEHOUSE_CLICKHOUSE_SOC',
};
const DATABASE = 'gatehouse';

function passwordFile(user: User): string {
  return stackValue(`${ENV[user]}_PASSWORD_FILE`);
}

function optionsAs(user: User, over: Partial<ClickHouseOptions> = {}): ClickHouseOptions {
  return {
    url: clickhouseUrl(),
    database: DATABASE,
    username: user,
    password: readFileSync(passwordFile(user), 'utf8').trim(),
    requestTimeoutMs: 10_000,
    ...over,
  };
}

/** The server's error code of a refused statement. */
async function refusedCode(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { serverCode?: number }).serverCode ?? -1;
  }
  throw new Error('expected ClickHouse to refuse the statement');
}

const clients: ClickHouse[] = [];
function as(user: User, over: Partial<ClickHouseOptions> = {}): ClickHouse {
  const ch = connectClickHouse(optionsAs(user, over));
  clients.push(ch);
  return ch;
}

const table = ident(`users_test_${randomBytes(4).toString('hex')}`);
let ddl: ClickHouse;

beforeAll(async () => {
  for (const u of Object.keys(ENV) as User[]) {
    if (!stackEnv()[`${ENV[u]}_PASSWORD_FILE`]) throw new Error(`.stack/env lacks ${ENV[u]}_PASSWORD_FILE`);
  }
  expect(stackValue('GATEHOUSE_CLICKHOUSE_SOC_USER')).toBe('soc');
  await ensureDatabase(optionsAs('gatehouse_ddl'));
  ddl = as('gatehouse_ddl');
  await ddl.command(sql`CREATE TABLE ${table} (id UInt32, text String) ENGINE = MergeTree ORDER BY id`);
});

afterAll(async () => {
  await ddl.command(sql`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  for (const c of clients) await c.close().catch(() => undefined);
});

describe('default (administrator)', () => {
  it('cannot be used without its password, nor with a wrong one', async () => {
    for (const password of ['', 'wrong-password']) {
      const code = await refusedCode(as('default', { database: 'system', password }).query(sql`SELECT 1`));
      expect([193, 194, 516]).toContain(code); // wrong password / password required / authentication failed
    }
    const rows = await as('default', { database: 'system' }).query<{ one: number }>(sql`SELECT 1 AS one`);
    expect(rows).toEqual([{ one: 1 }]);
  });
});

describe('gatehouse_recorder', () => {
  it('inserts into and reads gatehouse tables', async () => {
    const rec = as('gatehouse_recorder');
    await rec.command(sql`INSERT INTO ${table} (id, text) VALUES (1, 'one'), (2, 'two')`);
    expect(await rec.query(sql`SELECT id, text FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, text: 'one' },
      { id: 2, text: 'two' },
    ]);
  });

  it('cannot drop, alter or create tables, nor lift allow_ddl, nor use another database', async () => {
    const rec = as('gatehouse_recorder');
    expect(await refusedCode(rec.command(sql`DROP TABLE ${table}`))).toBe(392);
    expect(await refusedCode(rec.command(sql`ALTER TABLE ${table} DELETE WHERE 1`))).toBe(392);
    expect(await refusedCode(rec.command(sql`TRUNCATE TABLE ${table}`))).toBe(392);
    expect(
      await refusedCode(rec.command(sql`CREATE TABLE ${ident('x_recorder')} (a UInt8) ENGINE = Log`)),
    ).toBe(392);
    expect(await refusedCode(rec.command(sql`SET allow_ddl = 1`))).toBe(392);
    expect(await refusedCode(rec.query(sql`SELECT count() FROM default.${table}`))).toBe(291);
    // The table is intact.
    expect(await ddl.query(sql`SELECT count() AS n FROM ${table}`)).toEqual([{ n: '2' }]);
  });
});

describe('soc (analysts)', () => {
  it('reads gatehouse tables', async () => {
    const rows = await as('soc').query<{ n: string }>(sql`SELECT count() AS n FROM ${table}`);
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(0);
  });

  it('cannot insert, drop, alter or change settings, nor read another database', async () => {
    const soc = as('soc');
    expect(await refusedCode(soc.command(sql`INSERT INTO ${table} (id, text) VALUES (9, 'x')`))).toBe(164);
    expect(await refusedCode(soc.command(sql`DROP TABLE ${table}`))).toBe(164);
    expect(await refusedCode(soc.command(sql`ALTER TABLE ${table} DELETE WHERE 1`))).toBe(164);
    expect(await refusedCode(soc.command(sql`SET readonly = 0`))).toBe(164);
    expect(await refusedCode(soc.query(sql`SELECT count() FROM default.${table}`))).toBe(291);
    expect(await ddl.query(sql`SELECT count() AS n FROM ${table} WHERE id = 9`)).toEqual([{ n: '0' }]);
  });
});

describe('gatehouse_ddl', () => {
  it('changes the schema of gatehouse only', async () => {
    const other = ident(`other_${randomBytes(4).toString('hex')}`);
    expect(await refusedCode(ddl.command(sql`CREATE DATABASE ${other}`))).toBe(291);
  });
});

describe('a recorder with the split users', () => {
  let recorder: Recorder | undefined;
  let auth: RecorderAuth | undefined;
  afterAll(async () => {
    await recorder?.stop();
    await auth?.idp.stop();
  });

  it('migrates as gatehouse_ddl, writes as gatehouse_recorder, and soc reads what it wrote', async () => {
    const topics = {
      sessions: await uniqueTopic('ch-users-sessions', 3),
      approvals: await uniqueTopic('ch-users-appr', 1),
    };
    const events = postgresScenario({ rows: 3, email: 'ch-users@example.com' });
    const publisher = new KafkaPublisher(testKafka('ch-users-publisher'), testLogger, { lingerMs: 5 });
    publisher.start();
    try {
      await Promise.all(
        events.map((e) =>
          publisher.publishDurable({
            topic: topics.sessions,
            key: e.sessionId,
            value: Buffer.from(encodeEvent(e)),
          }),
        ),
      );
    } finally {
      await publisher.close(10_000);
    }
    auth = await startRecorderAuth();
    recorder = await startRecorder(
      parseRecorderConfig({
        nodeId: 'ch-users-test',
        groupId: `test-ch-users-${randomBytes(4).toString('hex')}`,
        kafka: { ...kafkaConnection('recorder'), topics: { ...topics, provision: false } },
        clickhouse: {
          url: clickhouseUrl(),
          database: DATABASE,
          user: 'gatehouse_recorder',
          password: { file: passwordFile('gatehouse_recorder') },
          ddl: { user: 'gatehouse_ddl', password: { file: passwordFile('gatehouse_ddl') } },
        },
        batch: { maxRows: 100, maxDelayMs: 100 },
        http: { port: 0 },
        health: { port: 0 },
        retentionDays: 1,
        api: auth.api,
      }),
      testLogger,
    );
    const sessionId = events[0]!.sessionId;
    const soc = as('soc');
    const deadline = Date.now() + 30_000;
    let n = 0;
    while (Date.now() < deadline) {
      const rows = await soc.query<{ n: string }>(
        sql`SELECT count(DISTINCT event_id) AS n FROM events WHERE session_id = ${sessionId}`,
      );
      n = Number(rows[0]!.n);
      if (n === events.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(n).toBe(events.length);
  });
});
