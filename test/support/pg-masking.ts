import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import { testKafka, testLogger } from './kafka.js';
import { stackValue } from './stack.js';

/** A query straight to the upstream database (what the gateway would leak), as the gateway's own user. */
export async function direct(
  sql: string | pg.QueryArrayConfig,
  values: unknown[] = [],
): Promise<pg.QueryResult> {
  const c = new pg.Client({
    host: stackValue('PG_TARGET_HOST'),
    port: Number(stackValue('PG_TARGET_PORT')),
    database: stackValue('PG_TARGET_DATABASE'),
    user: stackValue('PG_TARGET_USER'),
    password: readFileSync(stackValue('PG_TARGET_PASSWORD_FILE'), 'utf8').trim(),
  });
  await c.connect();
  try {
    return typeof sql === 'string' ? await c.query(sql, values) : await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Rows of `sql` straight from the upstream, as arrays. */
export async function directRows(sql: string): Promise<unknown[][]> {
  return (await direct({ text: sql, rowMode: 'array' })).rows as unknown[][];
}

/** Every record of a sessions topic so far (waits until no new record arrived for a second). */
export async function topicRecords(topic: string): Promise<Buffer[]> {
  const raw: Buffer[] = [];
  const consumer = new EventConsumer(testKafka('test-reader'), testLogger, {
    groupId: `reader-${Date.now()}-${Math.random()}`,
    topics: [topic],
  });
  void consumer.start((records) => {
    for (const r of records) raw.push(r.value);
    return Promise.resolve();
  });
  const deadline = Date.now() + 30_000;
  let seen = -1;
  while (Date.now() < deadline && (raw.length === 0 || raw.length !== seen)) {
    seen = raw.length;
    await sleep(1_000);
  }
  await consumer.stop();
  return raw;
}

/** The secrets of `values` (strings of at least `min` characters) that occur in any of `haystacks`. */
export function leaks(haystacks: readonly (Buffer | string)[], values: Iterable<string>, min = 6): string[] {
  const found = new Set<string>();
  const bufs = haystacks.map((h) => (typeof h === 'string' ? Buffer.from(h) : h));
  for (const v of values) {
    if (v.length < min) continue;
    const needle = Buffer.from(v);
    if (bufs.some((b) => b.includes(needle))) found.add(v);
  }
  return [...found];
}

/** Text forms of a result value (strings, JSON of objects, bytea as text) for leak checks. */
export function texts(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (Buffer.isBuffer(value)) return [value.toString('utf8'), value.toString('hex')];
  if (typeof value === 'string') return [value];
  return [JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))];
}

/** A value the gateway may return for a masked column. */
export function isMaskedValue(v: unknown): boolean {
  if (v === null) return true;
  const s = Buffer.isBuffer(v)
    ? v.toString('latin1', v[0] === 1 ? 1 : 0)
    : typeof v === 'string'
      ? v
      : JSON.stringify(v);
  return s === '***' || s === '"***"';
}
