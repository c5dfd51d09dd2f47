--
-- Failed executions: canceled by statement_timeout or ended by an error, each
-- counted per (queryid, planid) with the time it ran and its SQLSTATE;
-- pg_stat_statements never sees them.
--
SET pgperf.track = top;
CREATE TABLE fl (id int PRIMARY KEY, v int);
INSERT INTO fl SELECT g, g FROM generate_series(1, 100) g;
SELECT pgperf.reset() IS NOT NULL AS t;

SET statement_timeout = '100ms';
SELECT pg_sleep(2);
SELECT pg_sleep(3);
RESET statement_timeout;
SELECT 1 / (v - v) FROM fl WHERE id = 3;
SELECT 1 / (v - v) FROM fl WHERE id = 4;
SELECT v FROM fl WHERE id = 5;

-- (the timeout bounds the time of a canceled execution from below)
SELECT query, calls, failed_calls, failed_canceled, last_failure_sqlstate,
       failed_ms >= 50 * failed_canceled AS time_until_failure,
       planid <> 0 AS has_planid
  FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%'
 ORDER BY query COLLATE "C";

-- a failed execution is not a call, and counts in no latency figure
SELECT calls, mean_exec_ms, p50_ms FROM pgperf.statements WHERE query = 'SELECT pg_sleep($1)';

-- compare() sees failures: a plan that starts timing out regressed.  A slow
-- function makes every row cost 1ms: the index finds one row, a seq scan
-- visits 5,000 and hits the timeout.
CREATE FUNCTION fl_slow(int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.001); RETURN $1 > 0; END $$ COST 0.001;
CREATE TABLE fl_big (id int, note text);
INSERT INTO fl_big SELECT g, 'n' || g FROM generate_series(1, 5000) g;
CREATE INDEX fl_big_id ON fl_big (id);
VACUUM ANALYZE fl_big;
SET pgperf.compare_min_calls = 5;
SELECT pgperf.mark('indexed') AS w0 \gset
SELECT count(*) FROM fl_big WHERE id = 10 AND fl_slow(id);
SELECT count(*) FROM fl_big WHERE id = 11 AND fl_slow(id);
SELECT count(*) FROM fl_big WHERE id = 12 AND fl_slow(id);
SELECT count(*) FROM fl_big WHERE id = 13 AND fl_slow(id);
SELECT count(*) FROM fl_big WHERE id = 14 AND fl_slow(id);
DROP INDEX fl_big_id;
-- where the cancel lands (the CONTEXT of the error) varies: left out
\set VERBOSITY terse
SET statement_timeout = '150ms';
SELECT count(*) FROM fl_big WHERE id = 20 AND fl_slow(id);
SELECT count(*) FROM fl_big WHERE id = 21 AND fl_slow(id);
SELECT count(*) FROM fl_big WHERE id = 22 AND fl_slow(id);
SELECT count(*) FROM fl_big WHERE id = 23 AND fl_slow(id);
SELECT count(*) FROM fl_big WHERE id = 24 AND fl_slow(id);
RESET statement_timeout;
\set VERBOSITY default
SELECT calls_before, calls_after, failed_before, failed_after,
       failed_ms_before = 0 AS none_failed_before, failed_ms_after >= 5 * 75 AS ran_until_timeout,
       plan_changed, verdict,
       regexp_replace(reason, '[0-9.]+ ms on average', 'N ms on average') AS reason
  FROM pgperf.compare(:w0, NULL) WHERE query LIKE 'SELECT count(*) FROM fl_big%';

-- the plan that timed out was captured before it ran
SELECT regexp_replace(regexp_replace(line, '[0-9.]+ ms', 'N ms'), 'window [0-9]+', 'window N') AS line
  FROM pgperf.plan_diff((SELECT DISTINCT queryid FROM pgperf.statements
                          WHERE query LIKE 'SELECT count(*) FROM fl_big%'), :w0, NULL) AS line;

-- and so do plan changes: the new plan was never seen to finish
SELECT old_calls, new_calls, old_failed, new_failed, status,
       regexp_replace(reason, '[0-9.]+ ms on average', 'N ms on average') AS reason
  FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM fl_big%';
SELECT count(*) AS regressions FROM pgperf.regressions WHERE query LIKE 'SELECT count(*) FROM fl_big%';
RESET pgperf.compare_min_calls;

DROP TABLE fl, fl_big;
DROP FUNCTION fl_slow(int);
