-- Policy inputs, compactly, for `gatehouse policy backtest` (and `policy input`): filled by materialized views
-- from every event the recorder inserts (requests and decisions recorded before this migration are not here).
-- `policy_requests` holds each distinct `input.request` once per day (by its cityHash64), `policy_request_refs`
-- which request every (session, request id) was, `policy_decision_inputs` the recorded outcome and the rest of the
-- input the decision event carries (Decision fields 20-22). The values are read from the event bodies
-- (`"request":{…` / `"decision":{…`), so a connection tag of the same name cannot shadow them (no subqueries:
-- ClickHouse 18.16's materialized views do not resolve their aliases). Daily partitions follow the recorder's
-- retention.
CREATE TABLE IF NOT EXISTS policy_requests
(
    request_hash UInt64,
    parsed_json String,
    ts DateTime
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY request_hash;

CREATE MATERIALIZED VIEW IF NOT EXISTS policy_requests_mv TO policy_requests AS
SELECT cityHash64(visitParamExtractString(substring(event_json, position(event_json, '"request":{')), 'parsedJson'))
           AS request_hash,
       visitParamExtractString(substring(event_json, position(event_json, '"request":{')), 'parsedJson')
           AS parsed_json,
       ts
FROM events WHERE kind = 'request';

CREATE TABLE IF NOT EXISTS policy_request_refs
(
    session_id String,
    request_id UInt32,
    ts DateTime,
    request_hash UInt64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (session_id, request_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS policy_request_refs_mv TO policy_request_refs AS
SELECT session_id, request_id, ts,
       cityHash64(visitParamExtractString(substring(event_json, position(event_json, '"request":{')), 'parsedJson'))
           AS request_hash
FROM events WHERE kind = 'request';

CREATE TABLE IF NOT EXISTS policy_decision_inputs
(
    session_id String,
    request_id UInt32,
    ts DateTime,
    allow UInt8,
    approval_required UInt8,
    input_unix String,
    input_session_json String,
    input_grants_json String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (session_id, request_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS policy_decision_inputs_mv TO policy_decision_inputs AS
SELECT session_id, request_id, ts,
       visitParamExtractBool(substring(event_json, position(event_json, '"decision":{')), 'allow') AS allow,
       visitParamExtractBool(substring(event_json, position(event_json, '"decision":{')), 'approvalRequired')
           AS approval_required,
       visitParamExtractString(substring(event_json, position(event_json, '"decision":{')), 'inputUnix')
           AS input_unix,
       visitParamExtractString(substring(event_json, position(event_json, '"decision":{')), 'inputSessionJson')
           AS input_session_json,
       visitParamExtractString(substring(event_json, position(event_json, '"decision":{')), 'inputGrantsJson')
           AS input_grants_json
FROM events WHERE kind = 'decision';

-- The `session.opened` event of every session (identity, connection with tags, node): the session part of `input`.
CREATE TABLE IF NOT EXISTS policy_sessions
(
    session_id String,
    ts DateTime,
    opened_json String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY session_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS policy_sessions_mv TO policy_sessions AS
SELECT session_id, ts, event_json AS opened_json
FROM events WHERE kind = 'session_opened';
