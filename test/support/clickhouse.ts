import { randomBytes } from 'node:crypto';
import {
  connectClickHouse,
  dropDatabase,
  ensureDatabase,
} from '../../services/recorder/clickhouse/client.js';
import type { ClickHouse, ClickHouseOptions } from '../../services/recorder/clickhouse/client.js';
import { stackEnv, stackValue } from './stack.js';

export function clickhouseUrl(): string {
  return stackValue('GATEHOUSE_CLICKHOUSE_URL');
}

/** Options for a database of its own (`gatehouse_test_<random>`), so test runs never collide. */
export function testClickHouseOptions(prefix = 'gatehouse_test'): ClickHouseOptions {
  return {
    url: clickhouseUrl(),
    database: `${prefix}_${randomBytes(5).toString('hex')}`,
    username: stackEnv().GATEHOUSE_CLICKHOUSE_USER ?? 'default',
    password: '',
    requestTimeoutMs: 30_000,
  };
}

/** Creates a fresh database and a client bound to it; `drop()` removes both. */
export async function testDatabase(prefix?: string): Promise<{
  opts: ClickHouseOptions;
  ch: ClickHouse;
  drop: () => Promise<void>;
}> {
  const opts = testClickHouseOptions(prefix);
  await ensureDatabase(opts);
  const ch = connectClickHouse(opts);
  return {
    opts,
    ch,
    drop: async () => {
      await ch.close();
      if (!process.env.KEEP_TEST_DATABASES) await dropDatabase(opts);
    },
  };
}
