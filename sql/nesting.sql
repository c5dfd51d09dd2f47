--
-- Nesting: pgperf.track = top counts the statements clients send; = all also
-- the statements run inside functions, procedures and DO blocks (toplevel
-- false); = none counts nothing.
--
CREATE TABLE nest (id int PRIMARY KEY, v int);
INSERT INTO nest SELECT g, g FROM generate_series(1, 100) g;
VACUUM ANALYZE nest;

CREATE FUNCTION nest_plpgsql(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
  SELECT v INTO r FROM nest WHERE id = n;
  RETURN r;
END $$;
CREATE FUNCTION nest_sql(n int) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM nest WHERE v <= n
$$;
CREATE PROCEDURE nest_proc(n int) LANGUAGE plpgsql AS $$
BEGIN
  UPDATE nest SET v = v + 1 WHERE id = n;
END $$;

-- top: only what the client sent
SET pgperf.track = top;
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT nest_plpgsql(5);
SELECT nest_sql(10);
CALL nest_proc(3);
DO $$ BEGIN PERFORM count(*) FROM nest; END $$;
SELECT query, toplevel, calls FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%' ORDER BY query COLLATE "C";

-- all: the statements inside too, as nested
SET pgperf.track = 'all';
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT nest_plpgsql(5);
SELECT nest_plpgsql(6);
SELECT nest_sql(10);
CALL nest_proc(3);
DO $$ BEGIN PERFORM count(*) FROM nest; END $$;
SET pgperf.track = top;
SELECT query, toplevel, calls, rows FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%' ORDER BY query COLLATE "C", toplevel;
-- nested statements have plans and planids like any other
SELECT count(*) AS nested_without_plan FROM pgperf.statements s
 WHERE NOT toplevel
   AND NOT EXISTS (SELECT 1 FROM pgperf.plans p
                    WHERE p.queryid = s.queryid AND p.planid = s.planid);

-- EXECUTE of a prepared statement is top-level; EXPLAIN ANALYZE runs are
-- diagnostics, nested under the EXPLAIN, and not counted at top level
SELECT pgperf.reset() IS NOT NULL AS t;
PREPARE nest_p(int) AS SELECT v FROM nest WHERE id = $1;
EXECUTE nest_p(1);
-- (its output, which differs by major, is not shown)
\o /dev/null
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT v FROM nest WHERE id = 2;
\o
SELECT query, toplevel, calls FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%' ORDER BY query COLLATE "C";
DEALLOCATE nest_p;

-- none: nothing
SET pgperf.track = none;
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT v FROM nest WHERE id = 1;
SET pgperf.track = top;
SELECT count(*) AS counted FROM pgperf.statements WHERE query LIKE 'SELECT v FROM nest%';

-- only superusers may change what is tracked
CREATE ROLE nest_user;
SET ROLE nest_user;
SET pgperf.track = none;
RESET ROLE;
DROP ROLE nest_user;

DROP PROCEDURE nest_proc(int);
DROP FUNCTION nest_plpgsql(int), nest_sql(int);
DROP TABLE nest;

-- Tracking a nested statement changes nothing in the command around it.
-- DETACH PARTITION checks its foreign keys with a query it plans after
-- reading the partition's bounds; storing that query's text must not advance
-- the command counter (a subtransaction would), or the planner, reading the
-- bounds of the partition (itself partitioned) again, no longer finds its
-- parent and the DETACH fails.
SET pgperf.track = 'all';
SET pgperf.track_planning = on;
CREATE TABLE nest_fk (id bigint PRIMARY KEY, ref bigint,
                      FOREIGN KEY (ref) REFERENCES nest_fk (id)) PARTITION BY RANGE (id);
CREATE TABLE nest_fk1 PARTITION OF nest_fk FOR VALUES FROM (0) TO (10);
CREATE TABLE nest_fk2 PARTITION OF nest_fk FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id);
CREATE TABLE nest_fk21 PARTITION OF nest_fk2 FOR VALUES FROM (10) TO (20);
INSERT INTO nest_fk VALUES (1, NULL), (11, 1);
ALTER TABLE nest_fk DETACH PARTITION nest_fk2;
ALTER TABLE nest_fk ATTACH PARTITION nest_fk2 FOR VALUES FROM (10) TO (20);
SELECT count(*) AS rows_back FROM nest_fk;
RESET pgperf.track_planning;
SET pgperf.track = top;
DROP TABLE nest_fk;
