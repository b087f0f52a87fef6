import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../services/shared/events/codec.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import type { RecordedEvent } from '../../services/recorder/replay/recorded-event.js';
import { joinContinuations } from '../../services/recorder/replay/join-continuations.js';
import { closedSessions, readTopic, reassemble, sessionStream } from '../support/audit-log.js';
import { testDatabase } from '../support/clickhouse.js';
import { pgClient, psql } from '../support/clients.js';
import { startFixtureRecorder, startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { brokerCount, testKafka } from '../support/kafka.js';

const MAX_EVENT = 512 * 1024; // the default kafka.publisher.maxEventBytes

let fx: GatewayFixture;
let recorder: Recorder;
let db: Awaited<ReturnType<typeof testDatabase>>;
let agentToken: string;
let analystToken: string;

/** The session whose first request text starts with `marker`, reassembled, plus its raw frames. */
async function sessionWith(marker: string): Promise<{ frames: Event[]; events: Event[] }> {
  const find = (events: readonly Event[]) =>
    events.find((e) => e.body.case === 'request' && e.body.value.text.includes(marker))?.sessionId;
  const read = await readTopic(fx.sessionsTopic, (events) => {
    const id = find(events);
    return id !== undefined && closedSessions(events).has(id);
  });
  for (const size of read.sizes) expect(size).toBeLessThanOrEqual(MAX_EVENT);
  const id = find(read.events);
  expect(id).toBeDefined();
  const frames = sessionStream(read.events, id!);
  expect(frames.map((e) => Number(e.seq))).toEqual(frames.map((_, i) => i + 1)); // in order, no gaps
  expect(frames.at(-1)?.body.case).toBe('sessionClosed');
  return { frames, events: reassemble(frames) };
}

/** Every recorded event of a session from the recorder's replay API, reassembled. */
async function replayed(sessionId: string): Promise<RecordedEvent[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(
      `http://127.0.0.1:${recorder.httpPort}/v1/sessions/${sessionId}/events?limit=1000`,
      { headers: { authorization: `Bearer ${analystToken}` } },
    );
    if (res.ok) {
      const { events } = (await res.json()) as { events: RecordedEvent[] };
      if (events.some((e) => e.kind === 'session_closed')) return joinContinuations(events);
    }
    if (Date.now() > deadline) throw new Error(`session ${sessionId} not recorded`);
    await sleep(300);
  }
}

function requestTexts(events: readonly Event[]): string[] {
  return events.flatMap((e) => (e.body.case === 'request' ? [e.body.value.text] : []));
}

beforeAll(async () => {
  fx = await startGatewayFixture();
  db = await testDatabase('gatehouse_bounds');
  recorder = await startFixtureRecorder(fx, 'bounds', db.opts);
  agentToken = await fx.idp.issueToken({ user: 'agent-bounds', agent: true, groups: ['agents'] });
  analystToken = await fx.idp.issueToken({ user: 'soc-bounds', groups: ['soc'] });
}, 120_000);

afterAll(async () => {
  await recorder?.stop();
  await fx?.stop();
  await db?.drop();
});

describe('bounded audit events (real psql, pg, Kafka, ClickHouse)', () => {
  it('psql (simple protocol): a 0.95 MiB statement runs and is recorded whole in continuation frames', async () => {
    const marker = `bounds_simple_${randomUUID().slice(0, 8)}`;
    const filler = 'x'.repeat(996_000);
    const statement = `/* ${marker} */ select length('${filler}') as n`;
    const file = join(fx.dir, `${marker}.sql`);
    writeFileSync(file, `${statement};\n`); // psql sends the statement with its semicolon
    const r = await psql(fx.pgPort, 'demo-pg', agentToken, [], { extraArgs: ['-f', file] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(String(filler.length));
    const { frames, events } = await sessionWith(marker);
    expect(frames.some((e) => e.body.case === 'continuation')).toBe(true);
    const texts = requestTexts(events);
    expect(texts.length).toBe(1);
    expect(texts[0] === `${statement};`).toBe(true); // (no diff of a megabyte on failure)
    const request = events.find((e) => e.body.case === 'request');
    if (request?.body.case !== 'request') throw new Error('no request');
    expect(request.body.value.parsedJson).toContain(filler);
    const recorded = await replayed(request.sessionId);
    const statements = recorded.filter((e) => e.kind === 'request').map((e) => e.statement);
    expect(statements.length).toBe(1);
    expect(statements[0] === `${statement};`).toBe(true);
    expect(recorded.some((e) => e.kind === 'continuation')).toBe(false);
  });

  it('pg (extended protocol): a 0.95 MiB statement is decided, executed and recorded whole', async () => {
    const marker = `bounds_extended_${randomUUID().slice(0, 8)}`;
    const filler = 'y'.repeat(990_000);
    const text = `/* ${marker} */ select $1::text as m, length('${filler}') as n`;
    const client = await pgClient(fx.pgPort, 'demo-pg', agentToken);
    const res = await client.query<{ m: string; n: number }>({ text, values: [marker] });
    await client.end();
    expect(res.rows).toEqual([{ m: marker, n: filler.length }]);
    const { events } = await sessionWith(marker);
    const texts = requestTexts(events).filter((t) => t.includes(marker));
    expect(texts.length).toBeGreaterThanOrEqual(2); // the Parse and the Execute, each whole
    for (const t of texts) expect(t === text).toBe(true);
  });

  it('a 6 MiB row reaches the client and the log byte for byte', async () => {
    const marker = `bounds_row_${randomUUID().slice(0, 8)}`;
    const client = await pgClient(fx.pgPort, 'demo-pg', agentToken);
    const res = await client.query<{ big: string }>(
      `/* ${marker} */ select repeat('ab', 3 * 1024 * 1024) as big`,
    );
    await client.end();
    const big = res.rows[0]!.big;
    expect(big.length).toBe(6 * 1024 * 1024);
    const { frames, events } = await sessionWith(marker);
    expect(frames.filter((e) => e.body.case === 'continuation').length).toBeGreaterThanOrEqual(11);
    const data = Buffer.concat(
      events.flatMap((e) =>
        e.body.case === 'response' && ['data_rows', 'result'].includes(e.body.value.frame)
          ? [e.body.value.data]
          : [],
      ),
    );
    // DataRow: 'D', length, 1 column, value length, value; then the CommandComplete.
    expect(data[0]).toBe(0x44);
    expect(data.readUInt16BE(5)).toBe(1);
    const len = data.readInt32BE(7);
    expect(len).toBe(big.length);
    expect(data.subarray(11, 11 + len).equals(Buffer.from(big))).toBe(true);
    const recorded = await replayed(frames[0]!.sessionId);
    const payload = Buffer.concat(
      recorded
        .filter((e) => e.frame === 'data_rows' || e.frame === 'result')
        .map((e) => Buffer.from(e.payload, 'base64')),
    );
    expect(payload.equals(data)).toBe(true);
  });

  it('COPY TO STDOUT of a 3 MiB value: psql gets it, the log holds the same CopyData bytes', async () => {
    const marker = `bounds_copy_${randomUUID().slice(0, 8)}`;
    // A reader cleared for PII: COPY output is masked whole otherwise.
    const reader = await fx.idp.issueToken({ user: 'reader', groups: ['pii-readers'] });
    const r = await psql(fx.pgPort, 'demo-pg', reader, [
      `copy (select '${marker}' || repeat('q', 3 * 1024 * 1024)) to stdout`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${marker}${'q'.repeat(3 * 1024 * 1024)}\n`);
    const { frames, events } = await sessionWith(marker);
    expect(frames.some((e) => e.body.case === 'continuation')).toBe(true);
    const copied = Buffer.concat(
      events.flatMap((e) =>
        e.body.case === 'response' && e.body.value.frame === 'copy_out' ? [e.body.value.data] : [],
      ),
    );
    // CopyData: 'd', length, the row's text; then CopyDone ('c') in the same frame as the completion.
    expect(copied[0]).toBe(0x64);
    const text = copied.subarray(5, 1 + copied.readInt32BE(1)).toString();
    expect(text === `${marker}${'q'.repeat(3 * 1024 * 1024)}\n`).toBe(true);
  });

  it("the node's sessions share one partition of the sessions topic (kafka.publisher.partitionBy: node)", async () => {
    // The tests above ran several sessions on this node; the topic has 6 partitions.
    const admin = testKafka('test-bounds-admin').admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(fx.sessionsTopic);
    await admin.disconnect();
    expect(offsets).toHaveLength(6);
    expect(offsets.filter((o) => Number(o.high) > 0)).toHaveLength(1);
  });

  it('a record the broker refuses fails only its session; others and /readyz carry on', async () => {
    const rf = Math.min(3, brokerCount());
    const admin = testKafka('test-bounds-admin').admin();
    await admin.connect();
    // The topic now accepts records of at most 300 000 bytes: a 400 KiB event (under maxEventBytes) is refused.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: fx.sessionsTopic,
          configEntries: [
            { name: 'max.message.bytes', value: '300000' },
            { name: 'min.insync.replicas', value: String(rf >= 3 ? 2 : 1) },
          ],
        },
      ],
    });
    await admin.disconnect();
    await sleep(2_000);

    // A concurrent session runs small queries the whole time.
    const other = await pgClient(fx.pgPort, 'demo-pg', agentToken);
    const otherMarker = `bounds_other_${randomUUID().slice(0, 8)}`;
    let running = true;
    let answered = 0;
    const otherErrors: unknown[] = [];
    const loop = (async () => {
      while (running) {
        try {
          const r = await other.query<{ n: number }>(`/* ${otherMarker} */ select ${answered + 1} as n`);
          if (r.rows[0]?.n === answered + 1) answered++;
        } catch (err) {
          otherErrors.push(err);
          return;
        }
        await sleep(20);
      }
    })();

    const marker = `bounds_refused_${randomUUID().slice(0, 8)}`;
    const file = join(fx.dir, `${marker}.sql`);
    // Random text: the publisher compresses produce requests (LZ4), and a repeated letter would shrink far below the
    // topic's limit; these 200 000 characters stay ~150 KB compressed, so the event is still over it.
    const incompressible = randomBytes(150_000).toString('base64');
    writeFileSync(
      file,
      `/* ${marker} */ select length('${incompressible}') as n;\nselect count(*) from generate_series(1, 20000000);\n`,
    );
    const refused = await psql(fx.pgPort, 'demo-pg', agentToken, [], { extraArgs: ['-f', file] });
    const answeredAtRefusal = answered;
    const ready = await fetch(`http://127.0.0.1:${fx.gateway.healthPort}/readyz`);
    await sleep(1_500);
    running = false;
    await loop;
    await other.end();

    expect(refused.stderr).toMatch(
      /FATAL:\s+54000: gatehouse: the audit log refused a record of this session \(MESSAGE_TOO_LARGE\)/,
    );
    expect(refused.status).not.toBe(0);
    expect(otherErrors).toEqual([]);
    expect(answered).toBeGreaterThan(answeredAtRefusal); // the other session kept working after the refusal
    expect(ready.status).toBe(200);
    const stats = fx.gateway.publisher.stats();
    expect(stats.refusedRecords).toBeGreaterThanOrEqual(1);
    expect(stats.unavailableForMs).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${fx.gateway.healthPort}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_gateway_audit_records_refused_total [1-9]/m);

    // The refused session's request is not in the log (that is the point): it is found by its marker event.
    const read = await readTopic(fx.sessionsTopic, (events) => {
      const closed = closedSessions(events);
      const ids = new Set(
        events.flatMap((e) =>
          (e.body.case === 'request' && e.body.value.text.includes(otherMarker)) ||
          e.body.case === 'auditFailure'
            ? [e.sessionId]
            : [],
        ),
      );
      return ids.size === 2 && [...ids].every((id) => closed.has(id));
    });
    const failedId = read.events.find((e) => e.body.case === 'auditFailure')?.sessionId;
    expect(failedId).toBeDefined();
    const failed = sessionStream(read.events, failedId!);
    const marker_ = failed.find((e) => e.body.case === 'auditFailure');
    if (marker_?.body.case !== 'auditFailure') throw new Error('no audit failure marker');
    expect(marker_.body.value.error).toBe('MESSAGE_TOO_LARGE');
    // The refused seqs are exactly the gaps of the failed session's stream; nothing else is missing.
    const seqs = new Set(failed.map((e) => e.seq));
    const refusedSeqs = marker_.body.value.refusedSeqs;
    expect(refusedSeqs.length).toBeGreaterThanOrEqual(1);
    const last = failed.at(-1)!.seq;
    for (let s = 1n; s <= last; s++) expect(seqs.has(s) || refusedSeqs.includes(s)).toBe(true);
    for (const s of refusedSeqs) expect(seqs.has(s)).toBe(false);
    expect(failed.at(-1)?.body.case).toBe('sessionClosed');

    const otherId = read.events.find(
      (e) => e.body.case === 'request' && e.body.value.text.includes(otherMarker),
    )!.sessionId;
    const otherStream = sessionStream(read.events, otherId);
    expect(otherStream.map((e) => Number(e.seq))).toEqual(otherStream.map((_, i) => i + 1));
    expect(requestTexts(otherStream).filter((t) => t.includes(otherMarker)).length).toBeGreaterThanOrEqual(
      answered,
    );
    expect(otherStream.some((e) => e.body.case === 'auditFailure')).toBe(false);
  });
});
