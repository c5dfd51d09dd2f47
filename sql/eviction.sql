--
-- Eviction: pgperf.max bounds the entries (200 in the test instance); a full
-- table evicts the least-used entries, counts them, and never fails a
-- statement.
--
SET pgperf.track = 'all';
SELECT pgperf.reset() IS NOT NULL AS t;
CREATE TABLE ev (id int PRIMARY KEY, v int, c0 int, c1 int, c2 int, c3 int,
                 c4 int, c5 int, c6 int, c7 int, c8 int, c9 int);
INSERT INTO ev SELECT g, g, g, g, g, g, g, g, g, g, g, g FROM generate_series(1, 100) g;

-- a frequently run statement, then 1,000 distinct statements run once each
-- (statement i selects the columns of the bits set in i: distinct queryids)
SELECT v FROM ev WHERE id = 1;
SELECT v FROM ev WHERE id = 2;
SELECT v FROM ev WHERE id = 3;
SELECT v FROM ev WHERE id = 4;
SELECT v FROM ev WHERE id = 5;
DO $$
BEGIN
  FOR i IN 1..1000 LOOP
    EXECUTE format('SELECT %s FROM ev WHERE id = 1',
                   (SELECT string_agg('c' || b, ', ') FROM generate_series(0, 9) b
                     WHERE i & (1 << b) <> 0));
  END LOOP;
END $$;
SET pgperf.track = top;

SELECT entries <= max_entries AS bounded, evictions > 0 AS evicted,
       plans <= max_entries AS plans_bounded, queries <= max_entries AS queries_bounded,
       text_used_bytes <= text_area_bytes AS text_bounded
  FROM pgperf.info;
-- the frequent statement survived
SELECT calls FROM pgperf.statements WHERE query = 'SELECT v FROM ev WHERE id = $1';
-- every surviving entry still has its plan and its text
SELECT count(*) AS without_plan FROM pgperf.statements s
 WHERE NOT EXISTS (SELECT 1 FROM pgperf.plans p WHERE p.queryid = s.queryid AND p.planid = s.planid);
SELECT count(*) AS without_text FROM pgperf.statements WHERE query IS NULL;

-- long texts (about 8kB a statement) fill the 256kB text area: holes are
-- compacted, least-used entries evicted to make room; statements succeed and
-- every entry kept has its plan
SET pgperf.track = 'all';
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXECUTE format('SELECT count(*) FROM ev WHERE v IN (%s) AND id <> %s',
                   (SELECT string_agg(g::text, ',') FROM generate_series(1, 400 + i) g), i);
  END LOOP;
END $$;
SET pgperf.track = top;
SELECT entries <= max_entries AS bounded, text_used_bytes <= text_area_bytes AS text_bounded,
       text_live_bytes <= text_used_bytes AS live_le_used, text_compactions > 0 AS compacted
  FROM pgperf.info;
SELECT count(*) AS without_plan FROM pgperf.statements s
 WHERE NOT EXISTS (SELECT 1 FROM pgperf.plans p WHERE p.queryid = s.queryid AND p.planid = s.planid);

SELECT pgperf.reset() IS NOT NULL AS t;
SELECT entries, evictions, text_live_bytes < 1000 AS texts_freed FROM pgperf.info;
DROP TABLE ev;
