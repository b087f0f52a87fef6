import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import type { DatabaseError, DataRowMessage } from 'pg-protocol/dist/messages.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeSql } from '../../services/gateway/sql/index.js';
import { pgClient, psql, run } from '../support/clients.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { RawPgClient } from '../support/raw-pg.js';
import { SessionEventReader } from '../support/session-events.js';
import { stackValue } from '../support/stack.js';

/*
 * Attack table for issue 8 (deliverables 1 and 2): settings that change how SQL is read, and names (prepared
 * statements, cursors) the server knows. Each case asserts what the client received and what reached Kafka.
 */

let fx: GatewayFixture;
let reader: SessionEventReader;
let agentToken: string;
let humanToken: string;
let upstreamPassword: string;
const scratch = `gh_scratch_${randomBytes(4).toString('hex')}`;

async function direct(sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({
    host: stackValue('PG_TARGET_HOST'),
    port: Number(stackValue('PG_TARGET_PORT')),
    database: stackValue('PG_TARGET_DATABASE'),
    user: stackValue('PG_TARGET_USER'),
    password: upstreamPassword,
  });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The error `promise` rejects with (code and message), or a failure if it resolves. */
async function pgError(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { code: e.code ?? '', message: e.message };
  }
  throw new Error('the statement was not refused');
}

const rows = async (): Promise<number> =>
  Number((await direct(`SELECT count(*) AS n FROM ${scratch}`)).rows[0].n);

beforeAll(async () => {
  upstreamPassword = readFileSync(stackValue('PG_TARGET_PASSWORD_FILE'), 'utf8').trim();
  fx = await startGatewayFixture();
  reader = new SessionEventReader(fx.sessionsTopic);
  agentToken = await fx.idp.issueToken({ user: 'agent-7', agent: true, groups: ['agents'] });
  humanToken = await fx.idp.issueToken({
    user: 'alice',
    email: 'alice@example.com',
    groups: ['engineering'],
  });
  await direct(
    `CREATE TABLE ${scratch} (id int, note text); INSERT INTO ${scratch} VALUES (1, 'a'), (2, 'b')`,
  );
});

afterAll(async () => {
  await direct(`DROP TABLE IF EXISTS ${scratch}`).catch(() => undefined);
  await reader?.stop();
  await fx?.stop();
});

describe('startup parameters', { timeout: 30_000 }, () => {
  const env = { ...process.env, PGPASSWORD: '', PGCONNECT_TIMEOUT: '10' };
  const conn = (extra: string): string =>
    `host=127.0.0.1 port=${fx.pgPort} dbname=demo-pg user=gatehouse sslmode=require ${extra}`;

  it('options=-c standard_conforming_strings=off is refused with a FATAL naming the parameter', async () => {
    const r = await run(
      'psql',
      [conn(`options='-c standard_conforming_strings=off'`), '-X', '-c', 'select 1'],
      {
        ...env,
        PGPASSWORD: agentToken,
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('startup parameter "options" is not allowed by gatehouse');
  });

  it('a client_encoding other than UTF8 is refused (22023)', async () => {
    const r = await run('psql', [conn(''), '-X', '-c', 'select 1'], {
      ...env,
      PGPASSWORD: agentToken,
      PGCLIENTENCODING: 'SJIS',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('client_encoding "SJIS" is not supported by gatehouse');
  });

  it('what psql and pg send by default is accepted, and the upstream runs with the pinned settings', async () => {
    const r = await psql(fx.pgPort, 'demo-pg', agentToken, [
      "select current_setting('standard_conforming_strings'), current_setting('client_encoding'), current_setting('bytea_output'), current_setting('backslash_quote')",
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('on|UTF8|hex|safe_encoding');
  });
});

describe('settings that change how SQL is read are pinned', { timeout: 30_000 }, () => {
  const cases: [string, string][] = [
    ['SET standard_conforming_strings = off', 'standard_conforming_strings'],
    ['SET LOCAL backslash_quote = on', 'backslash_quote'],
    ["SET NAMES 'SJIS'", 'client_encoding'],
    ['SET bytea_output = escape', 'bytea_output'],
    ["SELECT set_config('standard_conforming_strings', 'off', false)", 'standard_conforming_strings'],
    [
      `CREATE FUNCTION ${scratch}_f() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS 'select 1'`,
      'standard_conforming_strings',
    ],
    ['ALTER ROLE CURRENT_USER SET standard_conforming_strings = off', 'standard_conforming_strings'],
  ];
  it.each(cases)('a person cannot run %s (42501, reason recorded)', async (sql, name) => {
    const c = await pgClient(fx.pgPort, 'demo-pg', humanToken);
    try {
      const e = await pgError(c.query(sql));
      expect(e.code).toBe('42501');
      expect(e.message).toContain(`parameter "${name}" is pinned`);
      expect((await c.query("select current_setting('standard_conforming_strings') AS v")).rows[0].v).toBe(
        'on',
      );
    } finally {
      await c.end();
    }
    const d = await reader.decision(sql);
    expect(d.allow).toBe(false);
    expect(d.reasons.join(' ')).toContain(`parameter "${name}" is pinned`);
  });

  it('a backslash-quoted string cannot hide an UPDATE: the gateway reads it as the server does', async () => {
    const sql = `SELECT 'x\\'; UPDATE ${scratch} SET note = 'pwned' WHERE true; --'`;
    const c = await pgClient(fx.pgPort, 'demo-pg', agentToken);
    try {
      const e = await pgError(c.query(sql));
      expect(e.code).toBe('42501');
      expect(e.message).toContain('statement 2 (update) is not read-only');
    } finally {
      await c.end();
    }
    expect((await direct(`SELECT count(*) AS n FROM ${scratch} WHERE note = 'pwned'`)).rows[0].n).toBe('0');
    const d = await reader.decision(`SET note = 'pwned'`);
    expect(d.allow).toBe(false);
    expect(d.parsed.sql?.statements?.map((s) => s.type)).toEqual(['select', 'update']);
  });

  it("for every literal form, the gateway's parse of the bytes equals the server's value", async () => {
    const literals = [
      `'a\\'`,
      `'a''b'`,
      `E'a\\'b'`,
      `E'\\x41\\101\\u00e9'`,
      `e'\\\\'`,
      `$$a'b\\$$`,
      `$q$ $$ ' $q$`,
      `U&'d\\0061t\\+000061'`,
      `U&'d!0061t' UESCAPE '!'`,
      `'é€😀'`,
      `'multi'\n  'line'`,
    ];
    const c = await pgClient(fx.pgPort, 'demo-pg', agentToken);
    try {
      for (const lit of literals) {
        const sql = `SELECT ${lit} AS v`;
        const server = (await c.query(sql)).rows[0].v as string;
        const a = await analyzeSql(`SELECT set_config('application_name', ${lit}, false)`);
        expect(a.statements[0]?.settings[0]?.value, lit).toBe(server);
      }
    } finally {
      await c.end();
    }
  });

  it('RESET ALL and DISCARD ALL return to the pinned values', async () => {
    const r = await psql(fx.pgPort, 'demo-pg', humanToken, [
      'RESET ALL',
      'DISCARD ALL',
      "select current_setting('standard_conforming_strings') || current_setting('bytea_output')",
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('onhex');
  });

  it('agents may set a timeout but not search_path or role; nobody may SET ROLE', async () => {
    const a = await psql(fx.pgPort, 'demo-pg', agentToken, [
      'SET statement_timeout = 5000',
      'SHOW statement_timeout',
    ]);
    expect(a.stderr).toBe('');
    expect(a.stdout.trim().split('\n').at(-1)).toBe('5s');
    const sp = await psql(fx.pgPort, 'demo-pg', agentToken, ['SET search_path = public, pg_catalog']);
    expect(sp.stderr).toContain('42501');
    expect(sp.stderr).toContain('agents may not change setting search_path');
    const role = await psql(fx.pgPort, 'demo-pg', humanToken, ['SET ROLE postgres']);
    expect(role.stderr).toContain('changing role is not allowed');
    expect((await reader.decision('SET search_path = public, pg_catalog')).allow).toBe(false);
    expect((await reader.decision('SET ROLE postgres')).allow).toBe(false);
    expect((await reader.decision('SET statement_timeout = 5000')).allow).toBe(true);
  });
});

describe('names: decisions use the statement behind the name', { timeout: 30_000 }, () => {
  it('PREPARE of a DELETE then EXECUTE (SQL) is decided as that DELETE, for people too', async () => {
    const c = await pgClient(fx.pgPort, 'demo-pg', humanToken);
    try {
      await c.query(`PREPARE wipe AS DELETE FROM ${scratch}`);
      const e = await pgError(c.query('EXECUTE wipe'));
      expect(e.code).toBe('42501');
      expect(e.message).toContain('DELETE without WHERE is not allowed: statement 1 (delete)');
    } finally {
      await c.end();
    }
    expect(await rows()).toBe(2);
    const d = await reader.decision('EXECUTE wipe');
    expect(d.allow).toBe(false);
    expect(d.parsed.sql?.statements?.[0]).toMatchObject({
      type: 'delete',
      has_where: false,
      name_ref: { op: 'execute', name: 'wipe', known: true },
    });
  });

  it('…and via a protocol-level Bind of the SQL-prepared name', async () => {
    const c = await pgClient(fx.pgPort, 'demo-pg', humanToken);
    const text = `DELETE FROM ${scratch} /* via bind */`;
    try {
      await c.query(`PREPARE wipe2 AS ${text}`);
      // Make the driver Bind to "wipe2" without sending its own Parse.
      const conn: unknown = Reflect.get(c, 'connection');
      Reflect.set(Reflect.get(conn as object, 'parsedStatements') as object, 'wipe2', text);
      const e = await pgError(c.query({ name: 'wipe2', text }));
      expect(e.code).toBe('42501');
      expect(e.message).toContain('DELETE without WHERE is not allowed');
      expect((await c.query('select 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await c.end();
    }
    expect(await rows()).toBe(2);
    const d = await reader.decision('/* via bind */', 'sql.bind');
    expect(d.allow).toBe(false);
    expect(d.parsed.sql?.statements?.[0]).toMatchObject({
      type: 'delete',
      has_where: false,
      name_ref: { op: 'execute', name: 'wipe2', known: true },
    });
  });

  it('an agent FETCHes from a read-only cursor (decided as its query); an unknown cursor is refused', async () => {
    const c = await pgClient(fx.pgPort, 'demo-pg', agentToken);
    try {
      await c.query('BEGIN');
      await c.query(`DECLARE cur1 CURSOR FOR SELECT id FROM ${scratch} ORDER BY id`);
      expect((await c.query('FETCH 1 FROM cur1')).rows).toEqual([{ id: 1 }]);
      const e = await pgError(c.query('FETCH ALL FROM "<unnamed portal 7>"'));
      expect(e.code).toBe('42501');
      expect(e.message).toContain('unknown cursor name "<unnamed portal 7>"');
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
    const d = await reader.decision('FETCH 1 FROM cur1');
    expect(d.allow).toBe(true);
    expect(d.parsed.sql?.statements?.[0]).toMatchObject({
      type: 'select',
      reads: [scratch],
      read_only: true,
    });
  });

  it('a DECLARE over a write CTE is refused for agents', async () => {
    const sql = `DECLARE cur2 CURSOR FOR WITH d AS (DELETE FROM ${scratch} RETURNING *) SELECT * FROM d`;
    const r = await psql(fx.pgPort, 'demo-pg', agentToken, ['BEGIN', sql, 'FETCH ALL FROM cur2', 'ROLLBACK']);
    expect(r.stderr).toContain('is not read-only');
    expect(await rows()).toBe(2);
    expect((await reader.decision(sql)).allow).toBe(false);
  });

  it('a cursor is gone after its transaction: FETCH then is refused as unknown', async () => {
    const r = await psql(fx.pgPort, 'demo-pg', agentToken, [
      `BEGIN; DECLARE cur3 CURSOR FOR SELECT 1; COMMIT`,
      'FETCH 1 FROM cur3',
    ]);
    expect(r.stderr).toContain('unknown cursor name "cur3"');
  });

  it('opaque code (DO) is write + DDL: refused for agents, needs DBA approval for people', async () => {
    const sql = `DO $$ BEGIN EXECUTE 'DELETE FROM ${scratch}'; END $$`;
    const a = await psql(fx.pgPort, 'demo-pg', agentToken, [sql]);
    expect(a.stderr).toContain('42501');
    const h = await psql(fx.pgPort, 'demo-pg', humanToken, [sql]);
    expect(h.stderr).toContain('approval required from dba');
    expect(await rows()).toBe(2);
    const d = await reader.decision(sql);
    expect(d.allow).toBe(false);
    expect(d.parsed.sql?.statements?.[0]).toMatchObject({
      type: 'do',
      opaque: true,
      ddl: true,
      read_only: false,
    });
  });
});

describe('protocol-level use of SQL-level names', { timeout: 30_000 }, () => {
  it('an Execute of a DECLAREd cursor by name is decided as its query and masked; an unknown portal is refused', async () => {
    const real = (await direct('SELECT ssn FROM customers ORDER BY id LIMIT 3')).rows.map((r) =>
      String(r.ssn),
    );
    const c = await RawPgClient.connect(fx.pgPort, 'demo-pg', agentToken);
    try {
      const declared = await c.send(
        serialize.query('BEGIN; DECLARE rawcur CURSOR FOR SELECT ssn FROM customers ORDER BY id'),
      );
      expect(declared.map((m) => m.name)).not.toContain('error');
      const got = await c.send(serialize.execute({ portal: 'rawcur', rows: 3 }), serialize.sync());
      const values = got
        .filter((m): m is DataRowMessage => m.name === 'dataRow')
        .map((m) => String(m.fields[0]));
      expect(values).toHaveLength(3);
      for (const v of real) expect(values).not.toContain(v);
      const unknown = await c.send(serialize.execute({ portal: 'nosuch', rows: 0 }), serialize.sync());
      const err = unknown.find((m): m is DatabaseError => m.name === 'error');
      expect(err?.code).toBe('42501');
      expect(err?.message).toContain('unknown cursor name "nosuch"');
      await c.send(serialize.query('ROLLBACK'));
    } finally {
      c.close();
    }
    const d = await reader.decision('SELECT ssn FROM customers ORDER BY id', 'sql.execute');
    expect(d.allow).toBe(true);
    expect(d.parsed.sql?.statements?.[0]).toMatchObject({ type: 'select', reads: ['customers'] });
    await sleep(1_000); // the result rows follow the decision on the topic
    const published = Buffer.concat(reader.raw).toString('latin1');
    for (const v of real) expect(published).not.toContain(v);
  });
});

describe('a pinned setting changed behind the gateway ends the session', { timeout: 30_000 }, () => {
  it('a view that calls set_config (invisible to the analyzer) is caught by the ParameterStatus it causes', async () => {
    const view = `${scratch}_v`;
    await direct(
      `CREATE VIEW ${view} AS SELECT set_config('standard_conforming_strings', 'off', false) AS x`,
    );
    try {
      const r = await psql(fx.pgPort, 'demo-pg', agentToken, [`SELECT x FROM ${view}`, 'SELECT 1']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('the server reports standard_conforming_strings=off');
      const d = await reader.decision(`SELECT x FROM ${view}`);
      expect(d.allow).toBe(true); // policy saw a read-only SELECT: the gateway's backstop is what holds
      const deadline = Date.now() + 20_000;
      let reason = '';
      while (reason === '' && Date.now() < deadline) {
        const closed = reader.events.find(
          (e) => e.sessionId === d.sessionId && e.body.case === 'sessionClosed',
        );
        if (closed?.body.case === 'sessionClosed') reason = closed.body.value.reason;
        else await sleep(200);
      }
      expect(reason).toBe('pinned setting changed');
    } finally {
      await direct(`DROP VIEW IF EXISTS ${view}`);
    }
  });
});
