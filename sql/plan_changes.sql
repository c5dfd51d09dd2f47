--
-- Plan changes: every time a statement starts running with a plan it did
-- not use before; judged with compare()'s rules once both plans have run
-- enough.  A plan that flips to a slower one is a regression; one that flips
-- to a faster one is not.
--
SET pgperf.track = top;
-- rows of a group stored together: the index reads a few blocks, a seq scan all
CREATE TABLE pc (id int, grp int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO pc SELECT g, g / 100, repeat('x', 100) FROM generate_series(1, 100000) g;
CREATE INDEX pc_grp ON pc (grp);
VACUUM ANALYZE pc;
SELECT pgperf.reset() IS NOT NULL AS t;
SET pgperf.compare_min_change = 0.5;

-- the index plan, then the index dropped: the plan flips to a seq scan
SELECT count(*) FROM pc WHERE grp = 1 \g /dev/null
SELECT count(*) AS before_any_change FROM pgperf.plan_changes;
DO $$ BEGIN FOR i IN 2..15 LOOP PERFORM count(*) FROM pc WHERE grp = i; END LOOP; END $$;
SET pgperf.track = 'all';
DO $$ BEGIN FOR i IN 2..15 LOOP PERFORM count(*) FROM pc WHERE grp = i; END LOOP; END $$;
DROP INDEX pc_grp;
-- a change is pending until the new plan has run enough
DO $$ BEGIN FOR i IN 16..18 LOOP PERFORM count(*) FROM pc WHERE grp = i; END LOOP; END $$;
SELECT old_planid <> new_planid AS other_plan, old_calls, new_calls, status,
       regexp_replace(reason, '[0-9]+', 'N', 'g') AS reason
  FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM pc WHERE grp%';
DO $$ BEGIN FOR i IN 19..40 LOOP PERFORM count(*) FROM pc WHERE grp = i; END LOOP; END $$;
SELECT old_calls, new_calls, status, new_mean_ms > old_mean_ms AS slower,
       new_blks_per_call > 100 * old_blks_per_call AS more_blocks,
       regexp_replace(reason, '[0-9.]+x slower \(p < 0.001\)', 'Nx slower (p < 0.001)') AS reason
  FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM pc WHERE grp%';
SELECT slowdown > 1.5 AS slower, p_value < 0.001 AS significant
  FROM pgperf.regressions WHERE query LIKE 'SELECT count(*) FROM pc WHERE grp%';

-- a new index: a flip to a faster plan is a change, not a regression; and
-- the regression is no longer the current plan
CREATE INDEX pc_grp_new ON pc (grp);
DO $$ BEGIN FOR i IN 41..70 LOOP PERFORM count(*) FROM pc WHERE grp = i; END LOOP; END $$;
SELECT status, still_current, old_calls > 0 AS old_ran, new_calls > 0 AS new_ran
  FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM pc WHERE grp%'
 ORDER BY detected_at;
SELECT count(*) AS regressions, bool_or(still_current) AS still_current
  FROM pgperf.regressions WHERE query LIKE 'SELECT count(*) FROM pc WHERE grp%';
-- the first index back under its old name is a plan used before: no change
DROP INDEX pc_grp_new;
CREATE INDEX pc_grp ON pc (grp);
DO $$ BEGIN FOR i IN 71..75 LOOP PERFORM count(*) FROM pc WHERE grp = i; END LOOP; END $$;
SELECT count(*) AS changes FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM pc WHERE grp%';

-- a planner setting changed: the hash join becomes a merge join; unchanged
-- in time here is fine, the point is the change is recorded with its window
CREATE TABLE pc2 (id int PRIMARY KEY, grp int);
INSERT INTO pc2 SELECT g, g / 100 FROM generate_series(1, 1000) g;
VACUUM ANALYZE pc2;
SELECT count(*) FROM pc2 a JOIN pc2 b USING (grp) \g /dev/null
SELECT pgperf.mark('merge joins') AS w_merge \gset
SET enable_hashjoin = off;
SET enable_nestloop = off;
SELECT count(*) FROM pc2 a JOIN pc2 b USING (grp) \g /dev/null
RESET enable_hashjoin;
RESET enable_nestloop;
SELECT window_id = :w_merge AS in_its_window, status IN ('pending', 'unchanged', 'regressed', 'improved') AS judged
  FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM pc2 a JOIN pc2 b%';

RESET pgperf.compare_min_change;
SET pgperf.track = top;
DROP TABLE pc, pc2;
