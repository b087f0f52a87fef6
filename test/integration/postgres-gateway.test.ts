import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import { startIdp } from '../../dev/idp/index.js';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import { runReplay } from '../../services/recorder/cli/run-replay.js';
import { testDatabase } from '../support/clickhouse.js';
import { pgClient, psql, run } from '../support/clients.js';
import { startFixtureRecorder, startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { testKafka, testLogger } from '../support/kafka.js';
import { stackValue } from '../support/stack.js';

let fx: GatewayFixture;
let recorder: Recorder;
let db: Awaited<ReturnType<typeof testDatabase>>;
let agentToken: string;
let humanToken: string;
let upstreamPassword: string;

async function direct(sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({
    host: stackValue('PG_TARGET_HOST'),
    port: Number(stackValue('PG_TARGET_PORT')),
    database: stackValue('PG_TARGET_DATABASE'),
    user: stackValue('PG_TARGET_USER'),
    password: upstreamPassword,
  });
  await c.connect();
  try {
    return await c.query(sql, values);
  } finally {
    await c.end();
  }
}

/** Every record of the gateway's sessions topic so far. */
async function sessionEvents(minimum: number): Promise<{ events: Event[]; raw: Buffer[] }> {
  const raw: Buffer[] = [];
  const consumer = new EventConsumer(testKafka('test-reader'), testLogger, {
    groupId: `reader-${Date.now()}-${Math.random()}`,
    topics: [fx.sessionsTopic],
  });
  void consumer.start((records) => {
    for (const r of records) raw.push(r.value);
    return Promise.resolve();
  });
  const deadline = Date.now() + 30_000;
  while (raw.flatMap((b) => decodeRecord(b)).length < minimum && Date.now() < deadline) await sleep(200);
  await sleep(1_000);
  await consumer.stop();
  return { events: raw.flatMap((b) => decodeRecord(b)), raw };
}

beforeAll(async () => {
  upstreamPassword = readFileSync(stackValue('PG_TARGET_PASSWORD_FILE'), 'utf8').trim();
  fx = await startGatewayFixture();
  db = await testDatabase('gatehouse_pg_e2e');
  recorder = await startFixtureRecorder(fx, 'e2e', db.opts);
  agentToken = await fx.idp.issueToken({ user: 'agent-7', agent: true, groups: ['agents'] });
  humanToken = await fx.idp.issueToken({
    user: 'alice',
    email: 'alice@example.com',
    groups: ['engineering'],
  });
});

afterAll(async () => {
  await recorder?.stop();
  await fx?.stop();
  await db?.drop();
});

describe('PostgreSQL through the gateway', () => {
  it('psql: an allowed SELECT returns rows with PII masked', async () => {
    const expected = await direct(
      'select full_name, email, ssn, card_number from customers order by id limit 3',
    );
    const r = await psql(fx.pgPort, 'demo-pg', agentToken, [
      'select full_name, email, ssn, card_number from customers order by id limit 3',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    lines.forEach((line, i) => {
      const [name, email, ssn, card] = line.split('|');
      const row = expected.rows[i] as Record<string, string>;
      expect(name).toBe(row.full_name);
      expect(email).not.toBe(row.email);
      expect(ssn).not.toBe(row.ssn);
      expect(card).not.toBe(row.card_number);
      expect(line).not.toContain(row.email);
    });
  });

  it('psql: DELETE without WHERE is refused with 42501 and the reason; the session stays usable', async () => {
    const r = await psql(fx.pgPort, 'demo-pg', humanToken, ['delete from customers', 'select 41 + 1']);
    expect(r.stderr).toMatch(/ERROR:\s+42501: gatehouse: .*WHERE/i);
    expect(r.stdout.trim()).toBe('42');
  });

  it('psql: agents are read-only', async () => {
    const r = await psql(fx.pgPort, 'demo-pg', agentToken, ["update customers set city = 'x' where id = 1"]);
    expect(r.stderr).toMatch(/42501: gatehouse: .*read-only/i);
  });

  it('refuses bad, expired and wrong-audience tokens with 28P01, and plaintext connections', async () => {
    const expired = await fx.idp.issueToken({ user: 'bob', ttlSeconds: 1 });
    const otherIdp = await startIdp({ port: 0, audience: 'not-gatehouse' });
    const wrongAudience = await otherIdp.issueToken({ user: 'bob' });
    await otherIdp.stop();
    await sleep(2_500);
    const cases = ['not-a-token', `${agentToken.slice(0, -4)}AAAA`, expired, wrongAudience];
    for (const token of cases) {
      const err = await pgClient(fx.pgPort, 'demo-pg', token).then(
        (c) => c.end().then(() => null),
        (e: unknown) => e as { code?: string; message: string },
      );
      expect(err?.message, `token case ${cases.indexOf(token)}`).toBeDefined();
      expect({ code: err?.code, message: err?.message }).toMatchObject({ code: '28P01' });
      expect(err?.message).not.toContain(token);
    }
    const plain = await psql(fx.pgPort, 'demo-pg', agentToken, ['select 1'], { sslmode: 'disable' });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toMatch(/requires TLS/);
    const unknown = await psql(fx.pgPort, 'no-such-db', agentToken, ['select 1']);
    expect(unknown.stderr).toMatch(/connection "no-such-db" does not exist/);
  });

  it('pg driver: extended protocol with parameters, named statements, denials and transactions', async () => {
    const c = await pgClient(fx.pgPort, 'demo-pg', humanToken);
    try {
      const one = await c.query('select id, full_name, email from customers where id = $1', [5]);
      expect(one.rows).toHaveLength(1);
      expect((one.rows[0] as { email: string }).email).not.toMatch(/@example|@/);
      for (let i = 1; i <= 3; i++) {
        const r = await c.query({
          name: 'by-id',
          text: 'select id::int as id from customers where id = $1',
          values: [i],
        });
        expect(r.rows).toEqual([{ id: i }]);
      }
      await expect(c.query('delete from orders')).rejects.toMatchObject({ code: '42501' });
      const after = await c.query('select count(*)::int as n from orders where id < $1', [10]);
      expect(after.rows).toEqual([{ n: 9 }]);
      await c.query('begin');
      await c.query("update orders set status = 'gatehouse-test' where id = $1", [1]);
      const inTx = await c.query('select status from orders where id = 1');
      expect(inTx.rows).toEqual([{ status: 'gatehouse-test' }]);
      await c.query('rollback');
      const rolled = await c.query('select status from orders where id = 1');
      expect(rolled.rows[0]).not.toEqual({ status: 'gatehouse-test' });
    } finally {
      await c.end();
    }
  });

  it('routes a cancel request to the right upstream backend', async () => {
    const c = await pgClient(fx.pgPort, 'demo-pg', humanToken);
    try {
      const started = Date.now();
      const sleeping = c.query('select pg_sleep(20)').then(
        () => null,
        (e: { code?: string }) => e,
      );
      await sleep(500);
      // The pg driver's cancel: a new connection (TLS) sending CancelRequest with the key the gateway handed out.
      const canceller = new pg.Client({
        host: '127.0.0.1',
        port: fx.pgPort,
        database: 'demo-pg',
        user: 'gatehouse',
        password: humanToken,
        ssl: { rejectUnauthorized: false },
      });
      (canceller as unknown as { cancel(c: pg.Client, q: unknown): void }).cancel(
        c,
        (c as unknown as { activeQuery: unknown }).activeQuery,
      );
      const err = await sleeping;
      expect(err?.code).toBe('57014'); // query_canceled
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await c.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
  });

  it('COPY TO STDOUT is decided by policy and its output masked', async () => {
    const raw = await direct('select email from customers order by id limit 3');
    const r = await psql(fx.pgPort, 'demo-pg', humanToken, [
      'copy (select id, email from customers order by id limit 3) to stdout',
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    for (const row of raw.rows as { email: string }[]) expect(r.stdout).not.toContain(row.email);
    const agent = await psql(fx.pgPort, 'demo-pg', agentToken, ['copy customers from stdin']);
    expect(agent.stderr).toMatch(/42501/);
  });

  it('pgbench runs through the gateway in simple and prepared modes without errors', async () => {
    for (const mode of ['simple', 'prepared']) {
      const r = await run(
        'pgbench',
        [
          '-n',
          '-S',
          '-T',
          '3',
          '-c',
          '2',
          '-M',
          mode,
          '-h',
          '127.0.0.1',
          '-p',
          String(fx.pgPort),
          '-U',
          'gatehouse',
          'demo-pgbench',
        ],
        { ...process.env, PGPASSWORD: humanToken, PGSSLMODE: 'require' },
      );
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/number of failed transactions: 0/);
    }
  });

  it('publishes every request and decision in order, and never the upstream password or a token', async () => {
    const r = await psql(fx.pgPort, 'demo-pg', agentToken, ['select 1', 'select count(*) from orders']);
    expect(r.status).toBe(0);
    const { events, raw } = await sessionEvents(20);
    const bySession = new Map<string, Event[]>();
    for (const e of events) bySession.set(e.sessionId, [...(bySession.get(e.sessionId) ?? []), e]);
    for (const list of bySession.values()) {
      const seqs = list.map((e) => Number(e.seq));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    const requests = events.filter((e) => e.body.case === 'request').length;
    const decisions = events.filter((e) => e.body.case === 'decision').length;
    expect(requests).toBeGreaterThan(5);
    expect(decisions).toBeGreaterThan(5);
    for (const secret of [upstreamPassword, agentToken, humanToken]) {
      expect(raw.some((b) => b.includes(secret))).toBe(false);
      expect(fx.logs.some((l) => l.includes(secret))).toBe(false);
    }
  });

  it('records every statement in ClickHouse exactly once, in order, and replays the transcript', async () => {
    const marker = `gatehouse_e2e_${Date.now()}`;
    const r = await psql(fx.pgPort, 'demo-pg', agentToken, [
      `select '${marker}' as marker, email from customers order by id limit 2`,
      'delete from customers',
      `select 2 as "${marker}_second"`,
    ]);
    expect(r.stderr).toMatch(/42501/);
    type Row = {
      session_id: string;
      seq_text: string;
      kind: string;
      statement: string;
      decision: string;
      payload_hex: string;
    };
    let rows: Row[] = [];
    const deadline = Date.now() + 15_000;
    let sessionId = '';
    while (Date.now() < deadline) {
      const found = await db.ch.query<{ session_id: string }>(
        sql`SELECT session_id FROM events WHERE kind = 'request' AND position(statement, ${marker}) > 0 LIMIT 1`,
      );
      sessionId = found[0]?.session_id ?? '';
      if (sessionId) {
        rows = await db.ch.query<Row>(
          sql`SELECT session_id, toString(seq) AS seq_text, kind, statement, decision, hex(payload) AS payload_hex
              FROM events WHERE session_id = ${sessionId} ORDER BY seq`,
        );
        if (rows.some((x) => x.kind === 'session_closed')) break;
      }
      await sleep(300);
    }
    expect(sessionId).not.toBe('');
    const seqs = rows.map((x) => Number(x.seq_text));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // every event once, in order, no gaps
    const requests = rows.filter((x) => x.kind === 'request').map((x) => x.statement);
    expect(requests).toEqual([
      `select '${marker}' as marker, email from customers order by id limit 2`,
      'delete from customers',
      `select 2 as "${marker}_second"`,
    ]);
    expect(rows.filter((x) => x.kind === 'decision').map((x) => x.decision)).toEqual([
      'allow',
      'deny',
      'allow',
    ]);
    // What was recorded is what the client saw: masked, never the raw e-mail or the upstream password.
    const raw = await direct('select email from customers order by id limit 2');
    const payloads = Buffer.from(rows.map((x) => x.payload_hex).join(''), 'hex');
    for (const secret of [
      ...raw.rows.map((x) => (x as { email: string }).email),
      upstreamPassword,
      agentToken,
    ]) {
      expect(payloads.includes(secret)).toBe(false);
    }
    const out: string[] = [];
    const analyst = await fx.idp.issueToken({ user: 'soc-analyst', groups: ['soc'] });
    const code = await runReplay([sessionId, '--recorder', `http://127.0.0.1:${recorder.httpPort}`], {
      env: { GATEHOUSE_TOKEN: analyst },
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
      fetch,
      now: () => new Date(),
    });
    const transcript = out.join('');
    expect(code).toBe(0);
    expect(transcript).toContain('delete from customers');
    expect(transcript).toMatch(/42501/);
    expect(transcript).toContain(`${marker}_second`);
    expect(transcript).not.toContain(raw.rows.map((x) => (x as { email: string }).email)[0]);
  });
});
