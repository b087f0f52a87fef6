-- Per-session summary. The recorder recomputes a session's row from its de-duplicated events after every
-- insert that touched the session (INSERT … SELECT), so redelivered events never count twice. `version` is
-- the number of distinct events the row was computed from; the newest row wins (FINAL, argMax or
-- `ORDER BY version DESC LIMIT 1 BY session_id`).
CREATE TABLE IF NOT EXISTS sessions
(
    session_id String,
    started_at DateTime,
    started_micros UInt64,
    ended_at DateTime,
    ended_micros UInt64,
    closed UInt8,
    last_event_at DateTime,
    identity_sub String,
    identity_email String,
    identity_groups Array(String),
    is_agent UInt8,
    connection String,
    protocol String,
    node_id String,
    client_addr String,
    requests UInt64,
    allowed UInt64,
    denied UInt64,
    approvals UInt64,
    rows_returned UInt64,
    bytes UInt64,
    events UInt64,
    last_seq UInt64,
    close_reason String,
    version UInt64,
    updated_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(started_at)
ORDER BY session_id;
