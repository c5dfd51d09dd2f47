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
