import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import type { ClickHouse } from '../../services/recorder/clickhouse/client.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import { postgresScenario } from '../../dev/recorder-fixtures/session-scenario.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import { publishAll, startRecordedScenario } from '../support/recorded-scenario.js';
import type { RecordedScenario } from '../support/recorded-scenario.js';
import { waitFor } from '../support/wait.js';

let fx: RecordedScenario;
let ch: ClickHouse;
let recorder: Recorder;
let topicNames: RecordedScenario['topics'];

beforeAll(async () => {
  fx = await startRecordedScenario();
  ({ ch, recorder } = fx);
  topicNames = fx.topics;
});
afterAll(() => fx.stop());

describe('recorder: ClickHouse failures and health', () => {
  it('retries a failing ClickHouse write without losing or committing, then recovers', async () => {
    const health = `http://127.0.0.1:${recorder.healthPort}`;
    await ch.command(sql`RENAME TABLE events TO events_parked`);
    let restored = false;
    try {
      const extra = postgresScenario({ rows: 5, email: 'late@example.com' });
      await publishAll(
        extra.map((e) => ({
          topic: topicNames.sessions,
          key: e.sessionId,
          value: Buffer.from(encodeEvent(e)),
        })),
      );
      await waitFor(
        'failed writes',
        async () =>
          /gatehouse_recorder_insert_failures_total (\d+)/.exec(
            await (await fetch(`${health}/metrics`)).text(),
          )?.[1],
        (n) => Number(n) >= 2,
        30_000,
      );
      expect((await fetch(`${health}/readyz`)).status).toBe(503);
      await ch.command(sql`RENAME TABLE events_parked TO events`);
      restored = true;
      await waitFor(
        'the late session',
        async () =>
          Number(
            (
              await ch.query<{ n: string }>(
                sql`SELECT uniqExact(event_id) AS n FROM events WHERE session_id = ${extra[0]!.sessionId}`,
              )
            )[0]!.n,
          ),
        (n) => n === extra.length,
        30_000,
      );
      await waitFor(
        'ready again',
        async () => (await fetch(`${health}/readyz`)).status,
        (s) => s === 200,
        20_000,
      );
    } finally {
      if (!restored) await ch.command(sql`RENAME TABLE events_parked TO events`).catch(() => undefined);
    }
  });

  it('exposes metrics and readiness', async () => {
    const health = `http://127.0.0.1:${recorder.healthPort}`;
    const ready = await waitFor(
      'ready',
      async () => (await fetch(`${health}/readyz`)).status,
      (s) => s === 200,
      20_000,
    );
    expect(ready).toBe(200);
    const metrics = await (await fetch(`${health}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_recorder_dead_letters_total\{topic="[^"]+"\} 1/);
    expect(metrics).toContain('gatehouse_recorder_insert_batch_rows_bucket');
  });
});
