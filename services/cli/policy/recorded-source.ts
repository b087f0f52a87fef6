import { readFileSync } from 'node:fs';
import {
  connectClickHouse,
  decidedRequests,
  openedEvents,
  sessionsWithDecisions,
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

/**
 * Recorded requests in the window, session batch by session batch (bounded memory: `batchSessions` sessions at a
 * time, at most `maxSessions`). Requests of sessions without a `session.opened` event are yielded with an empty
 * record (counted as not reconstructible).
 */
export async function* recordedRequests(
  ch: ClickHouse,
  filter: RecordedFilter,
  o: { maxSessions: number; batchSessions: number },
): AsyncGenerator<RecordedItem[]> {
  const sessions = await sessionsWithDecisions(ch, filter, o.maxSessions);
  for (let i = 0; i < sessions.length; i += o.batchSessions) {
    const batch = sessions.slice(i, i + o.batchSessions);
    const [opened, rows] = await Promise.all([
      openedEvents(ch, batch),
      decidedRequests(ch, batch, filter.since),
    ]);
    const bySession = new Map(opened.map((r) => [r.session_id, openedFromJson(JSON.parse(r.opened_json))]));
    const items: RecordedItem[] = [];
    for (const row of rows) {
      const session = bySession.get(row.session_id);
      const request = recordedFromRow(row.session_id, session ?? openedFromJson({}), row);
      items.push({ request, requestId: Number(row.request_id), recorded: recordedOutcome(row) });
    }
    yield items;
  }
}
