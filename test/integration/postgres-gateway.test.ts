import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import { startIdp } from '../../services/idp/index.js';
import { pgClient, psql, run } from '../support/clients.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { testKafka, testLogger } from '../support/kafka.js';
import { stackValue } from '../support/stack.js';

let fx: GatewayFixture;
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
  while (raw.length < minimum && Date.now() < deadline) await sleep(200);
  await sleep(1_000);
  await consumer.stop();
  return { events: raw.map((b) => decodeEvent(b)), raw };
}

beforeAll(async () => {
  upstreamPassword = readFileSync(stackValue('PG_TARGET_PASSWORD_FILE'), 'utf8').trim();
  fx = await startGatewayFixture();
  agentToken = await fx.idp.issueToken({ user: 'agent-7', agent: true, groups: ['agents'] });
  humanToken = await fx.idp.issueToken({
    user: 'alice',
    email: 'alice@example.com',
    groups: ['engineering'],
  });
});

afterAll(async () => {
  await fx?.stop();
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
});
