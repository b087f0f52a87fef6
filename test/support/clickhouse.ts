import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
    password: adminPasswordFile() === undefined ? '' : readFileSync(adminPasswordFile()!, 'utf8').trim(),
    requestTimeoutMs: 30_000,
  };
}

/** The administrator's password file (`default`), or undefined on a stack without ClickHouse passwords. */
function adminPasswordFile(): string | undefined {
  return stackEnv().GATEHOUSE_CLICKHOUSE_PASSWORD_FILE || undefined;
}

/**
 * The recorder's `clickhouse` config section for a test database. Tests use databases of their own
 * (`gatehouse_test_<random>`), which only the administrator may use: the stack's `gatehouse_recorder` user is
 * limited to the `gatehouse` database (test/integration/clickhouse-users.test.ts checks those rights).
 */
export function recorderClickHouse(opts: Pick<ClickHouseOptions, 'url' | 'database'>) {
  const file = adminPasswordFile();
  return {
    url: opts.url,
    database: opts.database,
    user: stackEnv().GATEHOUSE_CLICKHOUSE_USER ?? 'default',
    ...(file === undefined ? {} : { password: { file } }),
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
