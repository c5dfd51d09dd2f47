--
-- planid and cached plans: a planid cached for a plan is never handed to
-- another plan, and plan-time partition pruning does not make constants
-- part of the planid.
--
SET pgperf.track = 'all';
CREATE TABLE pc_pt (k int, v int) PARTITION BY LIST (k);
CREATE TABLE pc_pt1 PARTITION OF pc_pt FOR VALUES IN (1);
CREATE TABLE pc_pt2 PARTITION OF pc_pt FOR VALUES IN (2);
CREATE TABLE pc_pt3 PARTITION OF pc_pt FOR VALUES IN (3);
CREATE INDEX pc_pt_v ON pc_pt (v);
INSERT INTO pc_pt SELECT 1 + g % 3, g FROM generate_series(1, 3000) g;
VACUUM ANALYZE pc_pt;

-- a table where one value is rare and another common: two shapes
CREATE TABLE pc_skew (id int, grp int);
INSERT INTO pc_skew SELECT g, CASE WHEN g = 1 THEN 1 ELSE 2 END FROM generate_series(1, 20000) g;
CREATE INDEX pc_skew_grp ON pc_skew (grp);
VACUUM ANALYZE pc_skew;

SELECT pgperf.reset() IS NOT NULL AS t;

-- custom plans, each pruned to one partition: one shape, named by the root
SET plan_cache_mode = force_custom_plan;
PREPARE pc_q(int) AS SELECT count(*) FROM pc_pt WHERE k = $1;
EXECUTE pc_q(1);
EXECUTE pc_q(2);
EXECUTE pc_q(3);
EXECUTE pc_q(1);
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls, sum(rows) AS rows
  FROM pgperf.statements WHERE query LIKE 'PREPARE pc_q%';
SELECT plan ~ 'Seq Scan on pc_pt[123]' AS one_partition_scanned
  FROM pgperf.plans WHERE queryid = (SELECT DISTINCT queryid FROM pgperf.statements
                                      WHERE query LIKE 'PREPARE pc_q%');

-- the generic plan scans every partition (pruned at run time): another shape
SET plan_cache_mode = force_generic_plan;
EXECUTE pc_q(2);
EXECUTE pc_q(3);
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query LIKE 'PREPARE pc_q%';
SELECT plan ~ 'Append' AS generic_plan_appends
  FROM pgperf.plans WHERE queryid = (SELECT DISTINCT queryid FROM pgperf.statements
                                      WHERE query LIKE 'PREPARE pc_q%')
 ORDER BY first_seen DESC LIMIT 1;
RESET plan_cache_mode;

-- constants in plain statements: the same
SELECT count(*) FROM pc_pt WHERE k = 1;
SELECT count(*) FROM pc_pt WHERE k = 2;
SELECT count(*) FROM pc_pt WHERE k = 3;
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query = 'SELECT count(*) FROM pc_pt WHERE k = $1';

-- an index scan of a partition is named by the partitioned index
SELECT count(*) FROM pc_pt WHERE k = 1 AND v = 4;
SELECT count(*) FROM pc_pt WHERE k = 2 AND v = 5;
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query = 'SELECT count(*) FROM pc_pt WHERE k = $1 AND v = $2';

-- custom plans that differ, alternating: each execution gets its own
-- plan's planid, whatever address the plan cache copies each new plan to
SET plan_cache_mode = force_custom_plan;
PREPARE pc_s(int) AS SELECT count(*) FROM pc_skew WHERE grp = $1;
EXECUTE pc_s(1);
EXECUTE pc_s(2);
EXECUTE pc_s(1);
EXECUTE pc_s(2);
EXECUTE pc_s(1);
EXECUTE pc_s(2);
RESET plan_cache_mode;
SELECT p.plan ~ 'Index' AS index_plan, s.calls, s.rows
  FROM pgperf.statements s
  JOIN pgperf.plans p USING (queryid, planid)
 WHERE s.query LIKE 'PREPARE pc_s%'
 ORDER BY 1;

-- the same in a PL/pgSQL loop (its statements are cached plans too)
CREATE FUNCTION pc_loop() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint := 0;
  c bigint;
BEGIN
  FOR i IN 1..6 LOOP
    EXECUTE 'SELECT count(*) FROM pc_skew WHERE grp = $1' INTO c USING 1 + i % 2;
    n := n + c;
    SELECT count(*) INTO c FROM pc_pt WHERE k = 1 + i % 3;
    n := n + c;
  END LOOP;
  RETURN n;
END $$;
SELECT pc_loop();
-- (the same statement as pc_s's, so it has its text; nested this time)
SELECT p.plan ~ 'Index' AS index_plan, s.calls, s.rows
  FROM pgperf.statements s
  JOIN pgperf.plans p USING (queryid, planid)
 WHERE s.query LIKE 'PREPARE pc_s%' AND NOT s.toplevel
 ORDER BY 1;
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query LIKE 'SELECT count(*)%FROM pc_pt WHERE k = $% + i %';

DEALLOCATE pc_q;
DEALLOCATE pc_s;
DROP FUNCTION pc_loop();
DROP TABLE pc_pt, pc_skew;
RESET pgperf.track;
