-- Every gateway event, one row per event (flat, documented in deploy/clickhouse/README.md).
-- Re-delivered events carry the same (session_id, seq, event_id) and the same ts, so they land in the same
-- daily partition and ReplacingMergeTree collapses them on merge; queries de-duplicate with FINAL or
-- `LIMIT 1 BY event_id` until then.
CREATE TABLE IF NOT EXISTS events
(
    event_id String,
    session_id String,
    seq UInt64,
    ts DateTime,
    ts_micros UInt64,
    node_id String,
    kind String,
    protocol String,
    connection String,
    identity_sub String,
    identity_email String,
    identity_groups Array(String),
    is_agent UInt8,
    request_id UInt32,
    request_kind String,
    decision String,
    reasons Array(String),
    policy_revision String,
    statement String,
    approval_id String,
    reviewer String,
    frame String,
    rows UInt32,
    code String,
    text String,
    payload String,
    payload_bytes UInt32,
    event_json String,
    kafka_topic String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    inserted_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (session_id, seq, event_id);
