--
-- What is counted, and as what: executions that fail as they start, the
-- statements functions run while the planner folds them, cursors moved back
-- or held past their transaction, statements only planned.
--
SET pgperf.track = top;
CREATE TABLE cnt (id int PRIMARY KEY, v int);
INSERT INTO cnt SELECT g, g FROM generate_series(1, 300) g;
CREATE ROLE regress_cnt_user;
GRANT USAGE ON SCHEMA pgperf TO regress_cnt_user;
SELECT pgperf.reset() IS NOT NULL AS t;

-- an execution that fails as it starts is a failed call: permission denied
SET ROLE regress_cnt_user;
SELECT v FROM cnt WHERE id = 1;
RESET ROLE;
-- ... and a write in a read-only transaction
BEGIN READ ONLY;
INSERT INTO cnt VALUES (1000, 1000);
ROLLBACK;
SELECT r.rolname, s.query, s.calls, s.failed_calls, s.last_failure_sqlstate
  FROM pgperf.statements s JOIN pg_roles r ON r.oid = s.userid
 WHERE s.query LIKE '%cnt%' AND s.query NOT LIKE '%pgperf%'
 ORDER BY s.query COLLATE "C";

-- a function the planner folds (immutable, constant arguments) runs its
-- statements while planning: they are not top-level statements
CREATE FUNCTION cnt_fold(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
DECLARE
  r int;
BEGIN
  SELECT v INTO r FROM cnt WHERE id = $1;
  RETURN 1;
END $$;
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT count(*) FROM cnt WHERE v = cnt_fold(7);
-- (plpgsql's "RETURN 1" is "SELECT 1" for the jumbler: it must not have
-- given this statement its text)
SELECT 1 AS hello;
SELECT query, toplevel, calls FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%' ORDER BY query COLLATE "C";
-- with track = all they are counted, as nested statements
SET pgperf.track = 'all';
SELECT count(*) FROM cnt WHERE v = cnt_fold(8);
SELECT query, toplevel, calls FROM pgperf.statements
 WHERE query LIKE 'SELECT v%FROM cnt%' ORDER BY query COLLATE "C";
SET pgperf.track = top;

-- MOVE BACKWARD ALL runs a SQL function's statement again: not a client's
-- statement either
CREATE FUNCTION cnt_rows() RETURNS SETOF int LANGUAGE sql VOLATILE
  SET search_path = public AS 'SELECT id FROM cnt WHERE id <= 3';
SELECT pgperf.reset() IS NOT NULL AS t;
BEGIN;
DECLARE cnt_c SCROLL CURSOR FOR SELECT * FROM cnt_rows() r;
FETCH ALL FROM cnt_c;
MOVE BACKWARD ALL IN cnt_c;
FETCH 1 FROM cnt_c;
CLOSE cnt_c;
COMMIT;
SELECT query, toplevel, calls, rows FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%' ORDER BY query COLLATE "C";

-- a cursor held past its transaction: its query is read again from the
-- start into the cursor's store at commit; each row counts once
SELECT pgperf.reset() IS NOT NULL AS t;
BEGIN;
DECLARE cnt_h CURSOR WITH HOLD FOR SELECT id FROM cnt WHERE id <= 200;
FETCH 2 FROM cnt_h;
COMMIT;
FETCH 3 FROM cnt_h;
CLOSE cnt_h;
SELECT query, calls, rows FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%' ORDER BY query COLLATE "C";

-- a statement only planned, never run, shows its text
SET pgperf.track = 'all';
SET pgperf.track_planning = on;
SELECT pgperf.reset() IS NOT NULL AS t;
EXPLAIN (COSTS OFF) SELECT count(*) FROM cnt;
SELECT query, toplevel, calls, plans FROM pgperf.statements
 WHERE query LIKE '%FROM cnt%' AND query NOT LIKE '%pgperf%' ORDER BY query COLLATE "C";
RESET pgperf.track_planning;
RESET pgperf.track;

DROP FUNCTION cnt_fold(int);
DROP FUNCTION cnt_rows();
DROP TABLE cnt;
REVOKE USAGE ON SCHEMA pgperf FROM regress_cnt_user;
DROP ROLE regress_cnt_user;
