-- Raw events, one table per event topic. Rows are never updated.
-- kafka_partition/kafka_offset say where each row came from: the ingester
-- resumes from max(kafka_offset) per partition, which is how it lands every
-- event exactly once. ingested_at is the same for every row of one insert, so
-- that an insert is one part (atomic) whatever the event times in it.
CREATE TABLE IF NOT EXISTS {db}.views (
    event_id        String,
    ts              DateTime,
    ts_ms           UInt64,
    user_id         UInt64,
    product_id      UInt64,
    influencer_id   UInt64,
    live_id         UInt64,
    surface         Enum8('feed' = 1, 'live' = 2, 'search' = 3, 'shop' = 4),
    dwell_ms        UInt32,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (ts, user_id);

CREATE TABLE IF NOT EXISTS {db}.chats (
    event_id        String,
    ts              DateTime,
    ts_ms           UInt64,
    user_id         UInt64,
    live_id         UInt64,
    influencer_id   UInt64,
    product_id      UInt64,
    text            String,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (ts, live_id);

CREATE TABLE IF NOT EXISTS {db}.purchases (
    event_id        String,
    ts              DateTime,
    ts_ms           UInt64,
    order_id        String,
    user_id         UInt64,
    product_id      UInt64,
    influencer_id   UInt64,
    live_id         UInt64,
    quantity        UInt32,
    unit_price      Float64,
    currency        FixedString(3),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (ts, user_id);

CREATE TABLE IF NOT EXISTS {db}.dead_letters (
    topic           String,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    payload         String,
    reason          String,
    error           String,
    ingested_at     DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (topic, kafka_partition, kafka_offset);
