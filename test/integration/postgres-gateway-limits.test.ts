import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendSplitter, decodeNoticeFields } from '../../services/shared/pg-wire/index.js';
import { collectEvents } from '../support/event-collector.js';
import type { EventCollector } from '../support/event-collector.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { RawPgClient } from '../support/raw-pg.js';

/*
 * The PostgreSQL listener's socket-level limits against the real stack (real gateway, Kafka, PostgreSQL), with raw
 * sockets: every refusal is one FATAL ErrorResponse with the SQLSTATE the README promises, then the connection
 * closes; the process and the other sessions carry on.
 */

const LIMITS = {
  maxSessions: 3,
  authTimeoutMs: 1_000,
  idleTimeoutMs: 2_500,
  maxMessageBytes: 64 * 1024,
};

let fx: GatewayFixture;
let events: EventCollector;
let token: string;

beforeAll(async () => {
  // The fixture's option type lists only some listener settings; it spreads them all into the config.
  const postgres: { authTimeoutMs: number; maxSessions: number } = LIMITS;
  fx = await startGatewayFixture({ postgres });
  events = collectEvents(fx.sessionsTopic);
  token = await fx.idp.issueToken({ user: 'limits-human' });
});

afterAll(async () => {
  await events?.stop();
  await fx?.stop();
});

type Fatal = { severity: string; code: string; message: string };

/** What the gateway sent on a connection before closing it, decoded: every message must be an ErrorResponse. */
function errorsIn(bytes: Buffer): Fatal[] {
  const splitter = new BackendSplitter();
  splitter.push(bytes);
  const out: Fatal[] = [];
  for (let f = splitter.read(); f !== null; f = splitter.read()) {
    expect(String.fromCharCode(f.code)).toBe('E');
    const n = decodeNoticeFields(f.payload);
    out.push({ severity: n.severity ?? '', code: n.code ?? '', message: n.message ?? '' });
  }
  return out;
}

/** A plain TCP connection that sends `bytes` and collects everything until the gateway closes it. */
async function rawConnection(bytes: Buffer): Promise<{ received: Buffer; ms: number; local: string }> {
  const socket = connect({ host: '127.0.0.1', port: fx.pgPort });
  await new Promise((resolve) => socket.once('connect', resolve));
  const local = `127.0.0.1:${socket.localPort}`;
  const t0 = Date.now();
  const chunks: Buffer[] = [];
  socket.on('data', (b: Buffer) => chunks.push(b));
  socket.on('error', () => socket.destroy());
  if (bytes.length > 0) socket.write(bytes);
  await new Promise((resolve) => socket.once('close', resolve));
  return { received: Buffer.concat(chunks), ms: Date.now() - t0, local };
}

function fatalOf(messages: BackendMessage[]): Fatal[] {
  return messages.map((m) => {
    const e = m as BackendMessage & Partial<Fatal>;
    return { severity: e.severity ?? m.name, code: e.code ?? '', message: e.message ?? '' };
  });
}

/** A logged-in neighbour session: its round trips show that a refusal elsewhere left it alone. */
async function neighbour(): Promise<{ check(): Promise<void>; close(): void }> {
  const c = await RawPgClient.connect(fx.pgPort, 'demo-pg', token);
  const check = async (): Promise<void> => {
    const reply = await c.send(serialize.query('SELECT 42 AS answer'));
    expect(reply.map((m) => m.name)).toEqual([
      'rowDescription',
      'dataRow',
      'commandComplete',
      'readyForQuery',
    ]);
  };
  await check();
  return { check, close: () => c.close() };
}

async function expectReady(): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${fx.gateway.healthPort}/readyz`);
  expect(res.status).toBe(200);
}

describe('PostgreSQL listener limits (raw sockets, real stack)', () => {
  it('refuses connections beyond maxSessions with FATAL 53300, and serves again once one ends', async () => {
    const held = await Promise.all([1, 2, 3].map(() => RawPgClient.connect(fx.pgPort, 'demo-pg', token)));
    try {
      const extra = await rawConnection(serialize.startup({ user: 'gatehouse', database: 'demo-pg' }));
      expect(errorsIn(extra.received)).toEqual([
        { severity: 'FATAL', code: '53300', message: 'too many sessions on this gatehouse node' },
      ]);
      const refused = await events.waitFor((records) =>
        records.find(
          (r) => r.event.body.case === 'loginRefused' && r.event.body.value.clientAddr === extra.local,
        ),
      );
      expect(refused.event.protocol).toBe('postgres');
      expect(refused.event.body.case === 'loginRefused' && refused.event.body.value.reason).toBe(
        'too_many_sessions',
      );
      for (const c of held) {
        expect((await c.send(serialize.query('SELECT 1'))).at(-1)?.name).toBe('readyForQuery');
      }
    } finally {
      held.pop()!.close();
    }
    await sleep(300);
    const again = await RawPgClient.connect(fx.pgPort, 'demo-pg', token);
    expect((await again.send(serialize.query('SELECT 1'))).map((m) => m.name)).toContain('dataRow');
    for (const c of [...held, again]) c.close();
    await sleep(300);
  });

  it('closes a connection that does not complete its login within authTimeoutMs with FATAL 08P01', async () => {
    const n = await neighbour();
    try {
      // A silent client, and a slow one that never finishes its StartupMessage.
      const [silent, slow] = await Promise.all([
        rawConnection(Buffer.alloc(0)),
        rawConnection(Buffer.from([0, 0, 0, 100, 0, 3])),
      ]);
      for (const c of [silent, slow]) {
        expect(errorsIn(c.received)).toEqual([
          { severity: 'FATAL', code: '08P01', message: 'login timed out' },
        ]);
        expect(c.ms).toBeGreaterThanOrEqual(LIMITS.authTimeoutMs - 50);
        expect(c.ms).toBeLessThan(LIMITS.authTimeoutMs + 3_000);
      }
      await n.check();
    } finally {
      n.close();
    }
  });

  it('closes an idle session with FATAL 57P05 and records why', async () => {
    const c = await RawPgClient.connect(fx.pgPort, 'demo-pg', token);
    await c.send(serialize.query('SELECT 1'));
    const t0 = Date.now();
    const last = await c.closed();
    const ms = Date.now() - t0;
    expect(fatalOf(last)).toEqual([
      { severity: 'FATAL', code: '57P05', message: 'terminating connection due to idle timeout' },
    ]);
    expect(ms).toBeGreaterThanOrEqual(LIMITS.idleTimeoutMs - 100);
    expect(ms).toBeLessThan(LIMITS.idleTimeoutMs + 3_000);
    await events.waitFor((records) =>
      records.find(
        (r) => r.event.body.case === 'sessionClosed' && r.event.body.value.reason === 'idle timeout',
      ),
    );
  });

  it('refuses oversized messages: FATAL 08P01 for a startup packet, FATAL 54000 after login', async () => {
    const n = await neighbour();
    try {
      const startup = Buffer.alloc(8);
      startup.writeInt32BE(20_000, 0); // over PostgreSQL's 10 000-byte startup packet limit; body never sent
      startup.writeInt32BE(0x0003_0000, 4);
      const early = await rawConnection(startup);
      expect(errorsIn(early.received)).toEqual([
        {
          severity: 'FATAL',
          code: '08P01',
          message: 'startup packet of 20000 bytes exceeds the limit of 10000',
        },
      ]);

      const c = await RawPgClient.connect(fx.pgPort, 'demo-pg', token);
      const size = 16 * 1024 * 1024;
      const header = Buffer.from([0x51, 0, 0, 0, 0]); // a Query of 16 MiB: only its header is ever sent
      header.writeInt32BE(size, 1);
      c.write(header);
      expect(fatalOf(await c.closed())).toEqual([
        {
          severity: 'FATAL',
          code: '54000',
          message: `message 'Q' of ${size} bytes exceeds the limit of ${LIMITS.maxMessageBytes}`,
        },
      ]);
      await n.check();
      await expectReady();
    } finally {
      n.close();
    }
  });

  it('refuses malformed bytes with FATAL 08P01, before and after login, and carries on', async () => {
    const n = await neighbour();
    try {
      const early = await rawConnection(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0]));
      expect(errorsIn(early.received)).toEqual([
        { severity: 'FATAL', code: '08P01', message: 'invalid length of startup packet' },
      ]);
      const refused = await events.waitFor((records) =>
        records.find(
          (r) => r.event.body.case === 'loginRefused' && r.event.body.value.clientAddr === early.local,
        ),
      );
      expect(refused.event.body.case === 'loginRefused' && refused.event.body.value.reason).toBe(
        'protocol_error',
      );

      const c = await RawPgClient.connect(fx.pgPort, 'demo-pg', token);
      c.write(Buffer.from([0x01, 0, 0, 0, 4]));
      expect(fatalOf(await c.closed())).toEqual([
        { severity: 'FATAL', code: '08P01', message: 'invalid frontend message type 1' },
      ]);
      await events.waitFor((records) =>
        records.find(
          (r) => r.event.body.case === 'sessionClosed' && r.event.body.value.reason === 'protocol error',
        ),
      );
      await n.check();
      await expectReady();
      const fresh = await neighbour();
      fresh.close();
    } finally {
      n.close();
    }
  });
});
