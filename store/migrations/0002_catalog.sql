-- Catalog updates keep every version; the views products, brands and
-- influencers show the latest version per id (by updated_at, then offset),
-- exact without FINAL.
CREATE TABLE IF NOT EXISTS {db}.product_versions (
    product_id      UInt64,
    brand_id        UInt64,
    category        String,
    title           String,
    price           Float64,
    currency        FixedString(3),
    in_stock        UInt8,
    updated_at      DateTime,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (product_id, updated_at);

CREATE TABLE IF NOT EXISTS {db}.brand_versions (
    brand_id        UInt64,
    name            String,
    country         String,
    updated_at      DateTime,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (brand_id, updated_at);

CREATE TABLE IF NOT EXISTS {db}.influencer_versions (
    influencer_id   UInt64,
    handle          String,
    followers       UInt64,
    country         String,
    categories      Array(String),
    updated_at      DateTime,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (influencer_id, updated_at);

CREATE VIEW IF NOT EXISTS {db}.products AS
SELECT
    product_id,
    argMax(v_brand_id, version) AS brand_id,
    argMax(v_category, version) AS category,
    argMax(v_title, version) AS title,
    argMax(v_price, version) AS price,
    argMax(v_currency, version) AS currency,
    argMax(v_in_stock, version) AS in_stock,
    argMax(v_updated_at, version) AS updated_at
FROM (
    SELECT product_id, brand_id AS v_brand_id, category AS v_category, title AS v_title, price AS v_price, currency AS v_currency, in_stock AS v_in_stock, updated_at AS v_updated_at, (updated_at, kafka_offset) AS version
    FROM {db}.product_versions
)
GROUP BY product_id;

CREATE VIEW IF NOT EXISTS {db}.brands AS
SELECT
    brand_id,
    argMax(v_name, version) AS name,
    argMax(v_country, version) AS country,
    argMax(v_updated_at, version) AS updated_at
FROM (
    SELECT brand_id, name AS v_name, country AS v_country, updated_at AS v_updated_at, (updated_at, kafka_offset) AS version
    FROM {db}.brand_versions
)
GROUP BY brand_id;

CREATE VIEW IF NOT EXISTS {db}.influencers AS
SELECT
    influencer_id,
    argMax(v_handle, version) AS handle,
    argMax(v_followers, version) AS followers,
    argMax(v_country, version) AS country,
    argMax(v_categories, version) AS categories,
    argMax(v_updated_at, version) AS updated_at
FROM (
    SELECT influencer_id, handle AS v_handle, followers AS v_followers, country AS v_country, categories AS v_categories, updated_at AS v_updated_at, (updated_at, kafka_offset) AS version
    FROM {db}.influencer_versions
)
GROUP BY influencer_id;
