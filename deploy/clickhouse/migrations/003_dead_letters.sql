-- Kafka records the recorder could not decode: kept byte for byte with where they came from and why.
-- Partitioned by the record's Kafka timestamp, so a redelivered record collapses with its first copy.
CREATE TABLE IF NOT EXISTS dead_letters
(
    kafka_topic String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    kafka_ts DateTime,
    record_key String,
    record_value String,
    value_bytes UInt32,
    error_code String,
    error String,
    received_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(kafka_ts)
ORDER BY (kafka_topic, kafka_partition, kafka_offset);
