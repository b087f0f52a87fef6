import type { ClickHouse } from '../clickhouse/client.js';
import { inList, joinSql, sql } from '../clickhouse/quote.js';
import type { Sql } from '../clickhouse/quote.js';

/**
 * The read side `gatehouse policy input|backtest|diff` uses: recorded requests with their decisions, and the
 * `session.opened` event of their sessions, as the recorder stored them (`event_json`: the protobuf JSON of the
 * event). Every query de-duplicates redelivered rows (`LIMIT 1 BY event_id`) and pages by session, so memory stays
 * bounded whatever the window holds.
 */

/**
 * A request and its decision, the fields `input` is rebuilt from extracted in ClickHouse (from the events' body
 * objects, so a connection tag of the same name cannot shadow them): far less to move than both events' JSON.
 */
export type RecordedDecisionRow = {
  session_id: string;
  request_id: number;
  /** `request.parsedJson`: `input.request`. */
  parsed_json: string;
  allow: number;
  approval_required: number;
  /** `decision.inputUnix` (a decimal string; '' before input recording). */
  input_unix: string;
  input_session_json: string;
  input_grants_json: string;
};

export type RecordedSessionRow = { session_id: string; opened_json: string };

export type RecordedFilter = {
  /** Requests decided at or after this time. */
  since: Date;
  connection?: string | undefined;
  /** The subject or e-mail of the session's identity. */
  identity?: string | undefined;
};

function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/** Requests and their decisions in these sessions (decided at or after `since`; one request id if given). */
export async function decidedRequests(
  ch: ClickHouse,
  sessionIds: readonly string[],
  since: Date,
  requestId?: number,
): Promise<RecordedDecisionRow[]> {
  if (sessionIds.length === 0) return [];
  const only = requestId === undefined ? sql`` : sql` AND request_id = ${requestId}`;
  return ch.query<RecordedDecisionRow>(sql`SELECT session_id, request_id,
  anyIf(visitParamExtractString(body, 'parsedJson'), kind = 'request') AS parsed_json,
  anyIf(visitParamExtractBool(body, 'allow'), kind = 'decision') AS allow,
  anyIf(visitParamExtractBool(body, 'approvalRequired'), kind = 'decision') AS approval_required,
  anyIf(visitParamExtractString(body, 'inputUnix'), kind = 'decision') AS input_unix,
  anyIf(visitParamExtractString(body, 'inputSessionJson'), kind = 'decision') AS input_session_json,
  anyIf(visitParamExtractString(body, 'inputGrantsJson'), kind = 'decision') AS input_grants_json
FROM (SELECT session_id, request_id, kind, ts,
             substring(event_json, position(event_json, kind = 'request' ? '"request":{' : '"decision":{')) AS body
      FROM events
      WHERE session_id IN ${inList(sessionIds)} AND kind IN ('request', 'decision')${only} LIMIT 1 BY event_id)
GROUP BY session_id, request_id
HAVING countIf(kind = 'decision') > 0 AND countIf(kind = 'request') > 0 AND maxIf(ts, kind = 'decision') >= toDateTime(${seconds(since)})
ORDER BY session_id, request_id`);
}

/** `shadow_decision` events in the window, with the request text, newest first, at most `limit`. */
export async function shadowDecisions(
  ch: ClickHouse,
  since: Date,
  limit: number,
): Promise<
  { session_id: string; shadow_json: string; statement: string; identity_sub: string; connection: string }[]
> {
  return ch.query(sql`SELECT session_id, shadow_json, statement, identity_sub, connection
FROM (SELECT session_id, event_json AS shadow_json, ts AS shadow_ts,
             toUInt32(visitParamExtractUInt(event_json, 'requestId')) AS request_id
      FROM events WHERE kind = 'shadow_decision' AND ts >= toDateTime(${seconds(since)}) LIMIT 1 BY event_id)
ANY LEFT JOIN (SELECT session_id, request_id, statement, identity_sub, connection FROM events
      WHERE kind = 'decision' AND ts >= toDateTime(${seconds(since) - 3600}) LIMIT 1 BY event_id)
USING (session_id, request_id)
ORDER BY shadow_ts DESC LIMIT ${limit}`);
}

/** A request's recorded decision and input parts from migration 005's tables; `request_hash` names its request. */
export type CompactDecisionRow = Omit<RecordedDecisionRow, 'parsed_json'> & { request_hash: string };

/**
 * The decided requests of these sessions from the compact tables (`policy_decision_inputs` joined with
 * `policy_request_refs`): a few dozen bytes per request instead of two events' JSON.
 */
export async function compactDecidedRequests(
  ch: ClickHouse,
  sessionIds: readonly string[],
  since: Date,
): Promise<CompactDecisionRow[]> {
  if (sessionIds.length === 0) return [];
  return ch.query<CompactDecisionRow>(sql`SELECT session_id, request_id, request_hash, allow, approval_required,
  input_unix, input_session_json, input_grants_json
FROM (SELECT session_id, request_id, any(allow) AS allow, any(approval_required) AS approval_required,
             any(input_unix) AS input_unix, any(input_session_json) AS input_session_json,
             any(input_grants_json) AS input_grants_json, max(ts) AS decided
      FROM policy_decision_inputs WHERE session_id IN ${inList(sessionIds)}
      GROUP BY session_id, request_id HAVING decided >= toDateTime(${seconds(since)}))
ANY INNER JOIN (SELECT session_id, request_id, any(request_hash) AS request_hash FROM policy_request_refs
      WHERE session_id IN ${inList(sessionIds)} GROUP BY session_id, request_id)
USING (session_id, request_id)
ORDER BY session_id, request_id`);
}

/** `input.request` documents by their hash (`policy_requests`). */
export async function requestsByHash(
  ch: ClickHouse,
  hashes: readonly string[],
): Promise<{ request_hash: string; parsed_json: string }[]> {
  if (hashes.length === 0) return [];
  return ch.query(sql`SELECT request_hash, any(parsed_json) AS parsed_json FROM policy_requests
WHERE request_hash IN ${inList(hashes.map((h) => BigInt(h)))} GROUP BY request_hash`);
}

/** The `session.opened` event of each session, from the compact `policy_sessions` table (migration 005). */
export async function compactOpenedEvents(
  ch: ClickHouse,
  sessionIds: readonly string[],
): Promise<RecordedSessionRow[]> {
  if (sessionIds.length === 0) return [];
  return ch.query<RecordedSessionRow>(
    sql`SELECT session_id, any(opened_json) AS opened_json FROM policy_sessions WHERE session_id IN ${inList(sessionIds)} GROUP BY session_id`,
  );
}

/** Sessions with decisions in the window from the compact tables, oldest first, at most `limit`. */
export async function compactSessionsWithDecisions(
  ch: ClickHouse,
  f: RecordedFilter,
  limit: number,
): Promise<string[]> {
  const where: Sql[] = [sql`ts >= toDateTime(${seconds(f.since)})`];
  if (f.connection !== undefined || f.identity !== undefined) {
    const s: Sql[] = [sql`1 = 1`];
    if (f.connection !== undefined) s.push(sql`connection = ${f.connection}`);
    if (f.identity !== undefined)
      s.push(sql`(identity_sub = ${f.identity} OR identity_email = ${f.identity})`);
    where.push(sql`session_id IN (SELECT session_id FROM sessions WHERE ${joinSql(s, sql` AND `)})`);
  }
  const rows = await ch.query<{ session_id: string }>(
    sql`SELECT session_id, min(ts) AS first FROM policy_decision_inputs WHERE ${joinSql(where, sql` AND `)} GROUP BY session_id ORDER BY first LIMIT ${limit}`,
  );
  return rows.map((r) => r.session_id);
}
