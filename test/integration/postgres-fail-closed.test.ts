import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgClient } from '../support/clients.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { stackCommand, stackValue } from '../support/stack.js';

let fx: GatewayFixture;

async function orderStatus(): Promise<string> {
  const c = new pg.Client({
    host: stackValue('PG_TARGET_HOST'),
    port: Number(stackValue('PG_TARGET_PORT')),
    database: stackValue('PG_TARGET_DATABASE'),
    user: stackValue('PG_TARGET_USER'),
    password: readFileSync(stackValue('PG_TARGET_PASSWORD_FILE'), 'utf8').trim(),
  });
  await c.connect();
  try {
    const r = await c.query<{ status: string }>('select status from orders where id = 2');
    return r.rows[0]!.status;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  fx = await startGatewayFixture({ publisher: { durableTimeoutMs: 3_000, failClosedAfterMs: 2_000 } });
});

afterAll(async () => {
  await fx?.stop();
});

describe('PostgreSQL path fails closed when Kafka is gone', () => {
  it('refuses a write with 57P03 and never forwards it; recovers when the brokers return', async () => {
    const token = await fx.idp.issueToken({ user: 'alice', groups: ['engineering'] });
    const c = await pgClient(fx.pgPort, 'demo-pg', token);
    c.on('error', () => undefined);
    const before = await orderStatus();
    expect((await c.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    stackCommand('kafka-stop-all');
    try {
      const err = await c.query("update orders set status = 'must-not-happen' where id = 2").then(
        () => null,
        (e: { code?: string; message: string }) => e,
      );
      expect(err?.code).toBe('57P03');
      expect(err?.message).toMatch(/audit log unavailable/);
      expect(await orderStatus()).toBe(before);
    } finally {
      stackCommand('kafka-start-all');
    }
    await c.end().catch(() => undefined);
    // Back to normal: a new session logs in and writes are audited and forwarded again.
    const deadline = Date.now() + 60_000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      const c2 = await pgClient(fx.pgPort, 'demo-pg', token).catch(() => null);
      if (c2) {
        c2.on('error', () => undefined);
        ok = await c2.query('update orders set status = status where id = 2').then(
          () => true,
          () => false,
        );
        await c2.end().catch(() => undefined);
      }
      if (!ok) await sleep(1_000);
    }
    expect(ok).toBe(true);
  });
});
