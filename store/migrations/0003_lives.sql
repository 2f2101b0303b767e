-- Lives as catalog updates (topic lives): a version when a live starts and
-- another when it ends; every version is kept and the view lives shows the
-- latest per live_id (by updated_at, then offset), exact without FINAL.
-- ended_at is the zero DateTime (toDateTime(0)) while the live is on air;
-- sponsor_brand_id is 0 for an organic live; fee is what the sponsor pays
-- the influencer for the live, in EUR.
CREATE TABLE IF NOT EXISTS {db}.live_versions (
    live_id          UInt64,
    influencer_id    UInt64,
    sponsor_brand_id UInt64,
    fee              Float64,
    product_ids      Array(UInt64),
    started_at       DateTime,
    ended_at         DateTime,
    updated_at       DateTime,
    kafka_partition  UInt32,
    kafka_offset     UInt64,
    ingested_at      DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (live_id, updated_at);

CREATE VIEW IF NOT EXISTS {db}.lives AS
SELECT
    live_id,
    argMax(v_influencer_id, version) AS influencer_id,
    argMax(v_sponsor_brand_id, version) AS sponsor_brand_id,
    argMax(v_fee, version) AS fee,
    argMax(v_product_ids, version) AS product_ids,
    argMax(v_started_at, version) AS started_at,
    argMax(v_ended_at, version) AS ended_at,
    argMax(v_updated_at, version) AS updated_at
FROM (
    SELECT live_id, influencer_id AS v_influencer_id, sponsor_brand_id AS v_sponsor_brand_id, fee AS v_fee, product_ids AS v_product_ids, started_at AS v_started_at, ended_at AS v_ended_at, updated_at AS v_updated_at, (updated_at, kafka_offset) AS version
    FROM {db}.live_versions
)
GROUP BY live_id;

-- Influencers' rate card: EUR per sponsored live, 0 = unknown (and for every
-- version ingested before this migration). ClickHouse 18.16 has no
-- ADD COLUMN IF NOT EXISTS: Migrate skips this statement when the column is
-- already there (see store/migrate.go), so a migration interrupted after it
-- can run again.
ALTER TABLE {db}.influencer_versions ADD COLUMN fee Float64 DEFAULT 0;

-- The view picks the new column up. 18.16 has no DROP VIEW; DROP TABLE
-- drops a view on every version.
DROP TABLE IF EXISTS {db}.influencers;

CREATE VIEW IF NOT EXISTS {db}.influencers AS
SELECT
    influencer_id,
    argMax(v_handle, version) AS handle,
    argMax(v_followers, version) AS followers,
    argMax(v_country, version) AS country,
    argMax(v_categories, version) AS categories,
    argMax(v_fee, version) AS fee,
    argMax(v_updated_at, version) AS updated_at
FROM (
    SELECT influencer_id, handle AS v_handle, followers AS v_followers, country AS v_country, categories AS v_categories, fee AS v_fee, updated_at AS v_updated_at, (updated_at, kafka_offset) AS version
    FROM {db}.influencer_versions
)
GROUP BY influencer_id;
