import { readFileSync } from 'node:fs';
import {
  compactDecidedRequests,
  compactOpenedEvents,
  compactSessionsWithDecisions,
  connectClickHouse,
  requestsByHash,
} from '../../recorder/main.js';
import type { ClickHouse, RecordedFilter } from '../../recorder/main.js';
import type { RecordedRequest } from '../../gateway/index.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { PolicyUsageError } from './policy-cli-env.js';
import { openedFromJson, recordedFromRow, recordedOutcome } from './recorded-json.js';
import type { Outcome } from './backtest.js';

/**
 * ClickHouse from the environment (`.stack/env`): $GATEHOUSE_CLICKHOUSE_URL, the analysts' read-only user
 * $GATEHOUSE_CLICKHOUSE_SOC_USER/_PASSWORD_FILE (else $GATEHOUSE_CLICKHOUSE_USER/_PASSWORD_FILE), database
 * $GATEHOUSE_CLICKHOUSE_DATABASE (default gatehouse).
 */
export function clickHouseFromEnv(io: PolicyCliIo): ClickHouse {
  const url = io.env.GATEHOUSE_CLICKHOUSE_URL;
  if (!url) throw new PolicyUsageError('$GATEHOUSE_CLICKHOUSE_URL is not set (load .stack/env, or set it)');
  const soc = io.env.GATEHOUSE_CLICKHOUSE_SOC_USER !== undefined;
  const user = (soc ? io.env.GATEHOUSE_CLICKHOUSE_SOC_USER : io.env.GATEHOUSE_CLICKHOUSE_USER) ?? 'default';
  const passwordFile = soc
    ? io.env.GATEHOUSE_CLICKHOUSE_SOC_PASSWORD_FILE
    : io.env.GATEHOUSE_CLICKHOUSE_PASSWORD_FILE;
  let password = '';
  if (passwordFile) {
    try {
      password = readFileSync(passwordFile, 'utf8').trim();
    } catch {
      throw new PolicyUsageError(`cannot read the ClickHouse password file ${passwordFile}`);
    }
  }
  return connectClickHouse({
    url,
    database: io.env.GATEHOUSE_CLICKHOUSE_DATABASE ?? 'gatehouse',
    username: user,
    password,
    requestTimeoutMs: 60_000,
  });
}

export type RecordedItem = { request: RecordedRequest; requestId: number; recorded: Outcome };

/** Most distinct `input.request` documents kept between batches (then the cache starts over). */
const MAX_CACHED_REQUESTS = 100_000;

/**
 * Recorded requests in the window, session batch by session batch (bounded memory: `batchSessions` sessions at a
 * time, at most `maxSessions`), from the compact tables of migration 005; each distinct `input.request` is fetched
 * once. Requests of sessions without a `session.opened` event come with an empty record (not reconstructible).
 */
export async function* recordedRequests(
  ch: ClickHouse,
  filter: RecordedFilter,
  o: { maxSessions: number; batchSessions: number },
): AsyncGenerator<RecordedItem[]> {
  const sessions = await compactSessionsWithDecisions(ch, filter, o.maxSessions);
  const requests = new Map<string, string>();
  for (let i = 0; i < sessions.length; i += o.batchSessions) {
    const batch = sessions.slice(i, i + o.batchSessions);
    const [opened, rows] = await Promise.all([
      compactOpenedEvents(ch, batch),
      compactDecidedRequests(ch, batch, filter.since),
    ]);
    const missing = [...new Set(rows.map((r) => r.request_hash))].filter((h) => !requests.has(h));
    if (requests.size + missing.length > MAX_CACHED_REQUESTS) requests.clear();
    for (let j = 0; j < missing.length; j += 1000) {
      for (const r of await requestsByHash(ch, missing.slice(j, j + 1000)))
        requests.set(r.request_hash, r.parsed_json);
    }
    const bySession = new Map(opened.map((r) => [r.session_id, openedFromJson(JSON.parse(r.opened_json))]));
    const items: RecordedItem[] = [];
    for (const row of rows) {
      const session = bySession.get(row.session_id) ?? openedFromJson({});
      const full = { ...row, parsed_json: requests.get(row.request_hash) ?? '' };
      items.push({
        request: recordedFromRow(row.session_id, session, full),
        requestId: Number(row.request_id),
        recorded: recordedOutcome(full),
      });
    }
    yield items;
  }
}
