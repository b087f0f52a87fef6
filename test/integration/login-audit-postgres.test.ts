import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../services/shared/events/codec.js';
import { startIdp } from '../../dev/idp/index.js';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import { parseRecorderConfig } from '../../services/recorder/config.js';
import { startRecorder } from '../../services/recorder/recorder.js';
import { recorderClickHouse, testDatabase } from '../support/clickhouse.js';
import { testLogger } from '../support/kafka.js';
import { kafkaConnection } from '../support/stack.js';
import { run } from '../support/clients.js';
import { collectEvents } from '../support/event-collector.js';
import type { Collected, EventCollector } from '../support/event-collector.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';

let fx: GatewayFixture;
let events: EventCollector;
let validToken: string;
/** Every token presented in this file: none may appear in any record. */
const presented: string[] = [];

beforeAll(async () => {
  fx = await startGatewayFixture({
    postgres: { authTimeoutMs: 1_500, maxSessions: 4 },
    // Every login of this file comes from 127.0.0.1: a burst of 30, no refill to speak of, summaries each second.
    loginAudit: { burst: 30, perSecond: 0.01, summaryIntervalMs: 1_000 },
  });
  events = collectEvents(fx.sessionsTopic);
  validToken = await fx.idp.issueToken({ user: 'carol', email: 'carol@example.com', groups: ['dba'] });
  presented.push(validToken);
});

afterAll(async () => {
  await events?.stop();
  await fx?.stop();
});

type Refused = { event: Event; raw: Buffer; body: Extract<Event['body'], { case: 'loginRefused' }>['value'] };

function refusedWhere(pick: (r: Refused) => boolean): (records: readonly Collected[]) => Refused | undefined {
  return (records) => {
    for (const { event, raw } of records) {
      if (event.body.case !== 'loginRefused') continue;
      const r = { event, raw, body: event.body.value };
      if (pick(r)) return r;
    }
    return undefined;
  };
}

/** The refusal of a login whose StartupMessage named this application. */
const byApp = (app: string) => refusedWhere((r) => r.body.attributes.application_name === app);

/** psql with a marker application_name (to find its event) and the token as the password. */
function psqlAs(app: string, database: string, token: string, sslmode = 'require') {
  presented.push(token);
  return run(
    'psql',
    [
      `host=127.0.0.1 port=${fx.pgPort} dbname=${database} user=gatehouse sslmode=${sslmode} application_name=${app}`,
      '-X',
      '-At',
      '-c',
      'select 1',
    ],
    { ...process.env, PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' },
  );
}

/** The pg driver's error for a login with this token. */
async function driverLogin(
  app: string,
  database: string,
  token: string,
): Promise<{ code?: string; message: string }> {
  presented.push(token);
  const c = new pg.Client({
    host: '127.0.0.1',
    port: fx.pgPort,
    database,
    user: 'gatehouse',
    password: token,
    application_name: app,
    ssl: { rejectUnauthorized: false },
    connectionTimeoutMillis: 10_000,
  });
  try {
    await c.connect();
    await c.end();
    return { message: 'connected' };
  } catch (err) {
    return err as { code?: string; message: string };
  }
}

function expectCommon(r: Refused, reason: string, connection: string): void {
  expect(r.body.reason).toBe(reason);
  expect(r.event.protocol).toBe('postgres');
  expect(r.event.connection?.name).toBe(connection);
  expect(r.event.seq).toBe(1n);
  expect(r.event.nodeId).toBe('test-node');
  expect(r.body.clientAddr).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(r.body.code).toMatch(/^GH_ERR_/);
}

describe('refused PostgreSQL logins become login_refused events', () => {
  it('bad and forged tokens: 28P01, no identity; an unknown connection gets the very same answer', async () => {
    const forged = `${validToken.slice(0, -6)}AAAAAA`;
    const bad = await driverLogin('case-bad', 'demo-pg', 'not-a-token');
    const badUnknown = await driverLogin('case-bad-unknown', 'no-such-db', 'not-a-token');
    const forgedKnown = await driverLogin('case-forged', 'demo-pg', forged);
    const forgedUnknown = await driverLogin('case-forged-unknown', 'no-such-db', forged);
    expect(bad.code).toBe('28P01');
    expect(forgedKnown.code).toBe('28P01');
    // Connection names are not revealed before a valid token: same SQLSTATE and text either way.
    expect({ code: badUnknown.code, message: badUnknown.message }).toEqual({
      code: bad.code,
      message: bad.message,
    });
    expect({ code: forgedUnknown.code, message: forgedUnknown.message }).toEqual({
      code: forgedKnown.code,
      message: forgedKnown.message,
    });
    expect(forgedKnown.message).toBe('token authentication failed: token signature is invalid');

    for (const [app, connection] of [
      ['case-bad', 'demo-pg'],
      ['case-bad-unknown', 'no-such-db'],
      ['case-forged', 'demo-pg'],
      ['case-forged-unknown', 'no-such-db'],
    ] as const) {
      const r = await events.waitFor(byApp(app));
      expectCommon(r, 'bad_token', connection);
      expect(r.body.tokenVerified).toBe(false);
      expect(r.event.identity).toBeUndefined();
      expect(r.body.code).toBe('GH_ERR_PG_AUTH');
    }
    const known = await events.waitFor(byApp('case-bad'));
    expect(known.event.connection?.tags).toEqual({ env: 'demo' });
    const forgedEvent = await events.waitFor(byApp('case-forged'));
    expect(forgedEvent.body.detail).toBe('token authentication failed: token signature is invalid');
  });

  it('an expired but validly signed token: the claims are recorded, marked verified', async () => {
    const expired = await fx.idp.issueToken({ user: 'dave', email: 'dave@example.com', ttlSeconds: 1 });
    await sleep(2_200);
    const r = await psqlAs('case-expired', 'demo-pg', expired);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('token authentication failed: token has expired');
    const e = await events.waitFor(byApp('case-expired'));
    expectCommon(e, 'expired_token', 'demo-pg');
    expect(e.body.tokenVerified).toBe(true);
    expect(e.event.identity).toMatchObject({ sub: 'dave', email: 'dave@example.com' });
  });

  it('a token of another issuer (validly signed, but not by our keys) carries no identity', async () => {
    const other = await startIdp({ port: 0, audience: 'gatehouse' });
    const foreign = await other.issueToken({ user: 'mallory' });
    await other.stop();
    const err = await driverLogin('case-foreign', 'demo-pg', foreign);
    expect(err.code).toBe('28P01');
    const e = await events.waitFor(byApp('case-foreign'));
    expectCommon(e, 'bad_token', 'demo-pg');
    expect(e.event.identity).toBeUndefined();
  });

  it('a valid token for an unknown connection: 3D000 only now, with the identity recorded', async () => {
    const r = await psqlAs('case-unknown', 'no-such-db', validToken);
    expect(r.stderr).toMatch(/connection "no-such-db" does not exist/);
    const e = await events.waitFor(byApp('case-unknown'));
    expectCommon(e, 'unknown_connection', 'no-such-db');
    expect(e.body.tokenVerified).toBe(true);
    expect(e.event.identity).toMatchObject({ sub: 'carol', email: 'carol@example.com', groups: ['dba'] });
  });

  it('no token, and plaintext: refused and recorded', async () => {
    const empty = await driverLogin('case-empty', 'demo-pg', '');
    expect(empty.code).toBe('28P01');
    const plain = await psqlAs('case-plain', 'demo-pg', validToken, 'disable');
    expect(plain.stderr).toMatch(/requires TLS/);
    const e1 = await events.waitFor(byApp('case-empty'));
    expectCommon(e1, 'no_token', 'demo-pg');
    const e2 = await events.waitFor(byApp('case-plain'));
    expectCommon(e2, 'plaintext_refused', 'demo-pg');
    expect(e2.body.attributes.tls).toBe('false');
    expect(e2.event.identity).toBeUndefined();
  });

  it('a client that never completes the login is closed at the auth timeout and recorded', async () => {
    const socket = connect(fx.pgPort, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const local = `127.0.0.1:${socket.localPort}`;
    const t0 = Date.now();
    const received: Buffer[] = [];
    socket.on('data', (b: Buffer) => received.push(b));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - t0).toBeGreaterThan(1_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(Buffer.concat(received).toString('latin1')).toContain('login timed out');
    const e = await events.waitFor(refusedWhere((r) => r.body.clientAddr === local));
    expectCommon(e, 'auth_timeout', '');
  });

  it('too many sessions: 53300 and recorded', async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const s = connect(fx.pgPort, '127.0.0.1');
        await new Promise((resolve) => s.once('connect', resolve));
        held.push(s);
      }
      await sleep(200);
      const extra = connect(fx.pgPort, '127.0.0.1');
      await new Promise((resolve) => extra.once('connect', resolve));
      const local = `127.0.0.1:${extra.localPort}`;
      const data: Buffer[] = [];
      extra.on('data', (b: Buffer) => data.push(b));
      await new Promise((resolve) => extra.once('close', resolve));
      expect(Buffer.concat(data).toString('latin1')).toContain('53300');
      const e = await events.waitFor(refusedWhere((r) => r.body.clientAddr === local));
      expectCommon(e, 'too_many_sessions', '');
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('a flood from one address is bounded, and every refusal is still counted', async () => {
    await sleep(1_500);
    const refusedNow = () => events.records.filter((r) => r.event.body.case === 'loginRefused');
    const before = refusedNow();
    const suppressedBefore = before.reduce(
      (n, r) => n + (r.event.body.case === 'loginRefused' ? r.event.body.value.suppressed : 0),
      0,
    );
    expect(suppressedBefore).toBe(0); // fewer than the burst so far: all recorded one by one
    const FLOOD = 40;
    for (let i = 0; i < FLOOD; i++) {
      const err = await driverLogin(`flood-${i}`, 'demo-pg', 'not-a-token');
      expect(err.code).toBe('28P01'); // the client's answer never changes
    }
    const summary = await events.waitFor(
      refusedWhere((r) => r.body.reason === 'rate_limited' && r.body.clientAddr === '127.0.0.1'),
    );
    expect(summary.body.suppressed).toBeGreaterThan(0);
    expect(Number(summary.body.attributes.bad_token)).toBe(summary.body.suppressed);
    expect(summary.event.identity).toBeUndefined();
    await sleep(1_500);
    const after = refusedNow();
    const individual = after.filter(
      (r) => r.event.body.case === 'loginRefused' && r.event.body.value.reason !== 'rate_limited',
    );
    const suppressed = after.reduce(
      (n, r) => n + (r.event.body.case === 'loginRefused' ? r.event.body.value.suppressed : 0),
      0,
    );
    expect(individual.length).toBe(30);
    expect(individual.length + suppressed).toBe(before.length + FLOOD);
  });

  it('no token text anywhere in what reached Kafka', async () => {
    await sleep(500);
    const refused = events.records.filter((r) => r.event.body.case === 'loginRefused');
    expect(refused.length).toBeGreaterThanOrEqual(10);
    for (const { raw } of refused) {
      const text = raw.toString('latin1');
      for (const token of presented.filter((t) => t.length > 20)) {
        for (const part of token.split('.').filter((p) => p.length >= 16)) {
          expect(text).not.toContain(part.slice(0, 16));
        }
      }
    }
  });

  it('the recorder stores them unchanged: events rows and closed one-event sessions', async () => {
    const db = await testDatabase('gatehouse_login_audit');
    const recorder = await startRecorder(
      parseRecorderConfig({
        nodeId: 'rec-login-audit',
        groupId: `test-login-audit-${Date.now()}`,
        kafka: {
          ...kafkaConnection('recorder'),
          topics: {
            sessions: fx.sessionsTopic,
            approvals: `${fx.sessionsTopic}.approvals`,
            provision: false,
          },
        },
        clickhouse: recorderClickHouse(db.opts),
        batch: { maxRows: 500, maxDelayMs: 100 },
        http: { port: 0 },
        health: { port: 0 },
        retentionDays: 0,
        api: { oidc: { issuer: fx.idp.issuer, audience: 'gatehouse' } },
      }),
      testLogger,
    );
    try {
      const expected = events.records.filter((r) => r.event.body.case === 'loginRefused').length;
      let rows: { code: string; text: string; connection: string; identity_sub: string }[] = [];
      for (let i = 0; i < 100 && rows.length < expected; i++) {
        await sleep(300);
        rows = await db.ch.query(
          sql`SELECT code, text, connection, identity_sub FROM events WHERE kind = 'login_refused' LIMIT 1 BY event_id`,
        );
      }
      expect(rows.length).toBe(expected);
      const unknown = rows.find((r) => r.code === 'unknown_connection');
      expect(unknown).toMatchObject({ connection: 'no-such-db', identity_sub: 'carol' });
      expect(unknown?.text).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(rows.filter((r) => r.code === 'bad_token').every((r) => r.identity_sub === '')).toBe(true);
      let sessions: { close_reason: string; closed: number; client_addr: string }[] = [];
      for (let i = 0; i < 50 && sessions.length === 0; i++) {
        await sleep(300);
        sessions = await db.ch.query(
          sql`SELECT close_reason, closed, client_addr FROM sessions FINAL WHERE connection = 'no-such-db' AND identity_sub = 'carol'`,
        );
      }
      expect(sessions[0]).toMatchObject({ close_reason: 'login refused: unknown_connection', closed: 1 });
      expect(sessions[0]?.client_addr).toMatch(/^127\.0\.0\.1:/);
    } finally {
      await recorder.stop();
      await db.drop();
    }
  });
});
