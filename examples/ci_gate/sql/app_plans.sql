--
-- The plan-regression gate: run the application's queries, then compare
-- what pgperf saw with the committed baseline.  No row means the plans and
-- the shared blocks per call are as recorded; any row fails the suite.
--
\getenv app_dir APP_DIR
\set ECHO none
\set QUIET on
\i :app_dir/schema.sql
SELECT pgperf.reset() \g /dev/null
\o /dev/null
\i :app_dir/queries.sql
\o
\set QUIET off
\set baseline `cat "$APP_DIR/baseline.json"`
\set ECHO all
SELECT problem, query, baseline_value, current_value
  FROM pgperf.check_baseline(:'baseline');
