--
-- baseline() and check_baseline(): a test suite records the plans and the
-- shared blocks per call of the statements it ran, and a later run lists
-- each statement whose plan changed, whose blocks grew, or that is new or
-- missing.  Statements are matched by their normalized text; plans by the
-- name-based planid.
--
SET pgperf.track = top;
CREATE TABLE bl (id int PRIMARY KEY, grp int, note text);
INSERT INTO bl SELECT g, g % 10, 'n' || g FROM generate_series(1, 2000) g;
CREATE INDEX bl_grp ON bl (grp);
VACUUM ANALYZE bl;
SELECT pgperf.reset() IS NOT NULL AS t;

-- "the suite": four statements, one of them run twice
SELECT note FROM bl WHERE id = 1 \g /dev/null
SELECT note FROM bl WHERE id = 2 \g /dev/null
SELECT count(*) FROM bl WHERE grp = 3 \g /dev/null
SELECT count(*) FROM bl WHERE note LIKE 'n1%' \g /dev/null
SELECT min(note) FROM bl WHERE id < 10 \g /dev/null
SELECT pgperf.baseline() AS b \gset
SELECT jsonb_array_length(:'b'::jsonb->'statements') AS statements;
SELECT s->>'query' AS query, s->>'calls' AS calls, jsonb_array_length(s->'planids') AS planids,
       (s->>'blks_per_call')::numeric > 0 AS blocks, s->>'plan' IS NOT NULL AS has_plan
  FROM jsonb_array_elements(:'b'::jsonb->'statements') s;

-- the same run again: no problem
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT note FROM bl WHERE id = 7 \g /dev/null
SELECT note FROM bl WHERE id = 8 \g /dev/null
SELECT count(*) FROM bl WHERE grp = 4 \g /dev/null
SELECT count(*) FROM bl WHERE note LIKE 'n2%' \g /dev/null
SELECT min(note) FROM bl WHERE id < 20 \g /dev/null
SELECT * FROM pgperf.check_baseline(:'b');

-- a dropped index changes a plan; more rows make a seq scan read more;
-- a statement is new, another (min) missing
DROP INDEX bl_grp;
INSERT INTO bl SELECT g, g % 10, 'n' || g FROM generate_series(2001, 6000) g;
VACUUM ANALYZE bl;
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT note FROM bl WHERE id = 7 \g /dev/null
SELECT count(*) FROM bl WHERE grp = 4 \g /dev/null
SELECT count(*) FROM bl WHERE note LIKE 'n2%' \g /dev/null
SELECT max(id) FROM bl \g /dev/null
SELECT problem, query, queryid IS NOT NULL AS has_queryid,
       CASE problem WHEN 'plan_changed' THEN baseline_value LIKE '%using bl_grp%' OR baseline_value LIKE '%Index Scan on bl_grp%'
                    WHEN 'buffers_grew' THEN current_value::numeric > baseline_value::numeric * 1.25
                    ELSE true END AS values_make_sense
  FROM pgperf.check_baseline(:'b');
-- a larger tolerance lets the blocks grow
SELECT problem FROM pgperf.check_baseline(:'b', 10) ORDER BY 1;

-- bad baselines and tolerances: clear errors
\set VERBOSITY terse
SELECT * FROM pgperf.check_baseline(NULL);
SELECT * FROM pgperf.check_baseline('[]');
SELECT * FROM pgperf.check_baseline('{"statements": []}');
SELECT * FROM pgperf.check_baseline('{"pgperf_baseline": 2, "statements": []}');
SELECT * FROM pgperf.check_baseline('{"pgperf_baseline": 1, "statements": [{"query": 1}]}');
SELECT * FROM pgperf.check_baseline('{"pgperf_baseline": 1, "statements": []}', -1);
SELECT * FROM pgperf.check_baseline('{"pgperf_baseline": 1, "statements": []}', 'NaN');
SELECT * FROM pgperf.check_baseline('{"pgperf_baseline": 1, "statements": []}', NULL);
SELECT * FROM pgperf.check_baseline('not json');
\set VERBOSITY default
-- an empty baseline: everything run is new
SELECT problem, count(*) FROM pgperf.check_baseline('{"pgperf_baseline": 1, "statements": []}') GROUP BY 1;

DROP TABLE bl;
