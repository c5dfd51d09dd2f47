-- channable.sql: a Channable-like image_links table for pgperf's scenarios.
--
--   psql -X -v scale=1 -f test/data/channable.sql DBNAME   (scale defaults to 1;
--                                                          0.01 or 1/100 load 2,000 rows)
--
-- The case (shared/seeds/002_c308544a227738b6.txt): a batch image editor keeps
-- one row per image URL; a scheduler sets download_after and referenced_at,
-- which carry a composite index.  Adding a unique btree on the URL column made
-- "UPDATE image_links SET download_after = NOW() WHERE id % 100 = 0" five
-- times slower: download_after is indexed, so no update is HOT, and every
-- update must also insert into the new, large index of long URLs that nearly
-- all share a prefix.  Their alternatives: a unique index on md5(url)::uuid
-- (16-byte keys), or a hash index.
--
-- Per unit of scale: 200,000 rows, URLs of 90-200 bytes from 40 shops with a
-- common "https://www." prefix and long catalogue paths (low entropy), ~45 MB
-- of heap; the composite index (download_after, referenced_at); the primary
-- key on id.  About 3 s to load at scale 1.  Deterministic (setseed), and
-- stored in id order.  The update workload is channable_update.sql; the
-- candidate indexes are the seed's:
--   CREATE UNIQUE INDEX unique_image_link ON image_links (image_link);
--   CREATE UNIQUE INDEX unique_image_link_md5 ON image_links ((md5(image_link)::uuid));
--   CREATE INDEX image_link_hash ON image_links USING hash (image_link);
\if :{?scale}
\else
\set scale 1
\endif

DROP TABLE IF EXISTS image_links;
SELECT setseed(0.2024);

CREATE TABLE image_links (
    id              bigint PRIMARY KEY,
    image_link      text NOT NULL,
    download_after  timestamptz NOT NULL,
    referenced_at   timestamptz NOT NULL,
    status          smallint NOT NULL DEFAULT 0,
    content_length  integer
);

INSERT INTO image_links (id, image_link, download_after, referenced_at, status, content_length)
SELECT g,
       'https://www.' || shop || '-store.example.com/media/catalog/product/cache/'
         || md5(shop || '/' || (g % 997)::text) || '/'
         || substr(md5(g::text), 1, 2) || '/' || substr(md5(g::text), 3, 2) || '/'
         || 'product-' || g || '-' || repeat('variant-', (g % 9)) || 'large.jpg',
       timestamptz '2024-09-01' + (g % 10000) * interval '1 minute',
       timestamptz '2024-08-01' + (g % 7919) * interval '2 minutes',
       (g % 3)::smallint,
       20000 + (g * 7919) % 400000
  FROM generate_series(1, (200000 * :scale)::int) AS g,
       LATERAL (SELECT 'shop' || ((g * 31) % 40) AS shop) AS s;

CREATE INDEX image_links_download_referenced
    ON image_links (download_after, referenced_at);
VACUUM ANALYZE image_links;

SELECT count(*) AS rows,
       round(avg(length(image_link))) AS avg_url_length,
       pg_size_pretty(pg_relation_size('image_links')) AS table_size,
       pg_size_pretty(pg_relation_size('image_links_download_referenced')) AS index_size
  FROM image_links;
