import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { useSessionHarness } from '../../../dev/pg-session-fixtures/session-harness.js';
import type { SessionHarness } from '../../../dev/pg-session-fixtures/session-harness.js';
import { errorResponse, readyForQuery } from '../../shared/pg-wire/index.js';

/*
 * How a session ends, at the byte level: one FATAL ErrorResponse with the promised SQLSTATE, both connections
 * closed, and a `session_closed` event with the reason.
 */

const start = useSessionHarness();

function fatal(code: string, message: string): Buffer {
  return errorResponse({ severity: 'FATAL', code, message });
}

async function expectEnded(t: SessionHarness, reason: string, client: Buffer): Promise<void> {
  await expect(t.closed).resolves.toBe(reason);
  await t.client.untilClosed();
  await t.backend.untilClosed();
  expect(t.client.bytes()).toEqual(client);
  const last = t.publisher.events().at(-1)?.body;
  expect(last?.case === 'sessionClosed' ? last.value.reason : last?.case).toBe(reason);
}

describe('PgSession limits', () => {
  it('closes an idle session with FATAL 57P05', async () => {
    const t = await start({ limits: { idleTimeoutMs: 150 } });
    const t0 = Date.now();
    await expectEnded(t, 'idle timeout', fatal('57P05', 'terminating connection due to idle timeout'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('refuses a client message over maxMessageBytes with FATAL 54000 once its header arrives', async () => {
    const t = await start({ maxMessageBytes: 1024 });
    const header = Buffer.from([0x51, 0x40, 0, 0, 0]); // Query of 1 GiB: only the header is ever sent
    t.client.write(header);
    await expectEnded(
      t,
      'protocol error',
      fatal('54000', `message 'Q' of ${0x40000000} bytes exceeds the limit of 1024`),
    );
    expect(t.backend.messages).toEqual([]);
  });

  it('ends the session with FATAL 08P01 on malformed client bytes, dropping the rest of that batch', async () => {
    const t = await start();
    t.client.write(serialize.sync(), Buffer.from([0x01, 0, 0, 0, 4]));
    await expectEnded(t, 'protocol error', fatal('08P01', 'invalid frontend message type 1'));
    // The Sync before the bad bytes was still corked when the session failed: the upstream never sees it.
    expect(t.backend.messages).toEqual([]);
  });

  it('ends the session with FATAL 54000 when the server sends a message over maxBackendMessageBytes', async () => {
    const t = await start({ limits: { maxBackendMessageBytes: 4096 } });
    t.client.write(serialize.query('SELECT 1'));
    await t.backend.untilUnits(1);
    t.backend.write(Buffer.from([0x44, 0, 0, 0x40, 0])); // a 16 KiB DataRow header
    const message =
      'gatehouse: server message of type 68 and 16384 bytes exceeds the limit of 4096; session closed';
    await expectEnded(t, 'upstream message too large', fatal('54000', message));
  });

  it('ends the session with FATAL 08P01 when the server sends malformed bytes', async () => {
    const t = await start();
    t.client.write(serialize.query('SELECT 1'));
    await t.backend.untilUnits(1);
    t.backend.write(Buffer.from([0x44, 0, 0, 0, 2])); // a length below 4
    await expectEnded(t, 'upstream protocol error', fatal('08P01', 'invalid data from the upstream server'));
  });

  it('closes the upstream when the client goes away, and the client when the upstream does', async () => {
    const a = await start();
    a.client.socket.destroy();
    await expect(a.closed).resolves.toBe('client closed');
    await a.backend.untilClosed();
    const b = await start();
    b.client.write(serialize.query('SELECT 1'));
    await b.backend.untilUnits(1);
    b.backend.write(readyForQuery('I'));
    await b.client.untilReady();
    b.backend.socket.destroy();
    await expect(b.closed).resolves.toBe('upstream closed');
    await b.client.untilClosed();
  });
});
