-- openlibrary.sql: an Open Library-like infobase (thing, datum) for pgperf's
-- scenarios.
--
--   psql -X -v scale=1 -f test/data/openlibrary.sql DBNAME   (scale defaults to 1)
--
-- The case (shared/seeds/001_fb701928522ea1ef.txt): every property of every
-- object is a row of one datum table, written object by object, so the rows
-- of one property (all editions by one author) lie one to a block, scattered
-- over the table; a query for them reads a block per row ("more than 2
-- million disk blocks") through a bitmap heap scan.  The write-up's remedy
-- was to store a property's rows together.  CLUSTER on the (key, value) index
-- does that here: the plan stays the same, the blocks per call collapse.
--
-- Per unit of scale: 20,000 things, 8 properties each (160,000 datum rows,
-- about 12 MB); 100 authors, so 200 things per author.  The query is
-- openlibrary_author.sql.  Deterministic (no random(), statistics from every
-- row); about 1 s at scale 1.
\if :{?scale}
\else
\set scale 1
\endif

DROP TABLE IF EXISTS datum, thing;

CREATE TABLE thing (
    id              integer PRIMARY KEY,
    key             text NOT NULL,
    site_id         integer NOT NULL DEFAULT 1,
    latest_revision integer NOT NULL DEFAULT 1
);
INSERT INTO thing (id, key)
SELECT g, '/books/OL' || g || 'M'
  FROM generate_series(1, (20000 * :scale)::int) AS g;

CREATE TABLE datum (
    thing_id        integer NOT NULL,
    begin_revision  integer NOT NULL DEFAULT 1,
    end_revision    integer NOT NULL DEFAULT 2147483647,
    key             text NOT NULL,
    value           text NOT NULL,
    datatype        integer NOT NULL,
    ordering        integer
);
-- object by object, as revisions are saved
INSERT INTO datum (thing_id, key, value, datatype)
SELECT t, k,
       CASE k WHEN 'type' THEN (50 + t % 3)::text
              WHEN 'authors' THEN (4955500 + t % 100)::text
              WHEN 'publishers' THEN 'Publisher ' || (t % 200)
              ELSE md5(t::text || k) END,
       CASE WHEN k IN ('type', 'authors') THEN 0 ELSE 2 END
  FROM generate_series(1, (20000 * :scale)::int) AS t,
       unnest(ARRAY['type', 'title', 'authors', 'publishers', 'subjects',
                    'description', 'notes', 'isbn']) WITH ORDINALITY AS p(k, n)
 ORDER BY t, n;
CREATE INDEX datum_key_value_idx ON datum (key, value);
-- ANALYZE samples 300 x the statistics target rows: at 1000 it reads all
-- of datum up to scale 1.8, so the estimates, and the plans, are the same
-- at every load
ALTER TABLE datum ALTER COLUMN key SET STATISTICS 1000,
                  ALTER COLUMN value SET STATISTICS 1000;
VACUUM ANALYZE thing, datum;

SELECT count(*) AS things,
       (SELECT count(*) FROM datum) AS datum_rows,
       pg_size_pretty(pg_relation_size('datum')) AS datum_size
  FROM thing;
