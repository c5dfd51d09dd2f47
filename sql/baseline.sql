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

-- (the checks below are not part of "the suite": not captured)
SET pgperf.track = none;
-- percentiles per statement (every execution, its plans merged), ordered
SELECT s->>'query' AS query,
       (s->>'p50_ms')::numeric <= (s->>'p95_ms')::numeric
       AND (s->>'p95_ms')::numeric <= (s->>'p99_ms')::numeric AS ordered
  FROM jsonb_array_elements(:'b'::jsonb->'statements') s;

-- the floor of buffers_grew: blocks per call that grew by fewer than
-- min_blocks (10 by default) are not a problem, whatever the tolerance (a
-- btree one level deeper is one block more); min_blocks => 0 reports them
SELECT jsonb_set(:'b'::jsonb, '{statements}',
         (SELECT jsonb_agg(CASE WHEN s->>'query' LIKE 'SELECT note FROM bl%'
                                THEN jsonb_set(s, '{blks_per_call}', to_jsonb((s->>'blks_per_call')::numeric - 1))
                                ELSE s END)
            FROM jsonb_array_elements(:'b'::jsonb->'statements') s)) AS b_fewer \gset
SELECT * FROM pgperf.check_baseline(:'b_fewer');
SELECT problem, query, current_value::numeric - baseline_value::numeric AS grew
  FROM pgperf.check_baseline(:'b_fewer', min_blocks => 0);

-- the latency gate, opt-in: p95 beyond the baseline's by more than
-- latency_tolerance.  A baseline whose p95 is far below this run's (0.0001
-- ms): every statement; far above: none; without latency_tolerance: none
SELECT jsonb_set(:'b'::jsonb, '{statements}',
         (SELECT jsonb_agg(jsonb_set(s, '{p95_ms}', '0.0001'))
            FROM jsonb_array_elements(:'b'::jsonb->'statements') s)) AS b_fast \gset
SELECT jsonb_set(:'b'::jsonb, '{statements}',
         (SELECT jsonb_agg(jsonb_set(s, '{p95_ms}', '1e9'))
            FROM jsonb_array_elements(:'b'::jsonb->'statements') s)) AS b_slow \gset
SELECT problem, query, baseline_value, current_value::numeric > 0.0001 AS slower
  FROM pgperf.check_baseline(:'b_fast', latency_tolerance => 0.5);
SELECT count(*) AS problems FROM pgperf.check_baseline(:'b_slow', latency_tolerance => 0.5);
SELECT count(*) AS problems FROM pgperf.check_baseline(:'b_fast');
-- a baseline made before percentiles were recorded is accepted; its
-- statements are not gated on latency
SELECT jsonb_set(:'b'::jsonb, '{statements}',
         (SELECT jsonb_agg(s - 'p50_ms' - 'p95_ms' - 'p99_ms')
            FROM jsonb_array_elements(:'b'::jsonb->'statements') s)) AS b_old \gset
SELECT count(*) AS statements_with_p95
  FROM jsonb_array_elements(:'b_old'::jsonb->'statements') s WHERE s ? 'p95_ms';
SELECT count(*) AS problems FROM pgperf.check_baseline(:'b_old', latency_tolerance => 0);
SET pgperf.track = top;

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

-- current_window_only: a long-lived database's baseline holds every plan a
-- statement ever ran; taken from the current window only, just the plans it
-- runs now, so that a dropped index shows against it (the seq scan that
-- replaces it also reads more blocks)
SELECT pgperf.reset() IS NOT NULL AS t;
CREATE INDEX bl_grp2 ON bl (grp);
SELECT count(*) FROM bl WHERE grp = 4 \g /dev/null
SELECT count(*) FROM bl WHERE grp = 5 \g /dev/null
SELECT pgperf.baseline(current_window_only => true) AS b_idx \gset
DROP INDEX bl_grp2;
SELECT count(*) FROM bl WHERE grp = 6 \g /dev/null
SELECT w.current_window_only, s->>'query' AS query, s->>'calls' AS calls,
       jsonb_array_length(s->'planids') AS planids
  FROM (VALUES (false), (true)) AS w(current_window_only),
       jsonb_array_elements(pgperf.baseline(w.current_window_only)->'statements') s
 ORDER BY 1;
SELECT problem, query, baseline_value LIKE '%Index%Scan%bl_grp2%' AS was_index
  FROM pgperf.check_baseline(:'b_idx', current_window_only => true);

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
SELECT * FROM pgperf.check_baseline('{"pgperf_baseline": 1, "statements": []}', min_blocks => -1);
SELECT * FROM pgperf.check_baseline('{"pgperf_baseline": 1, "statements": []}', latency_tolerance => 'NaN');
SELECT * FROM pgperf.check_baseline('not json');
\set VERBOSITY default
-- an empty baseline: everything run is new
SELECT problem, count(*) FROM pgperf.check_baseline('{"pgperf_baseline": 1, "statements": []}') GROUP BY 1;

DROP TABLE bl;
