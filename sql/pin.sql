-- Plan pinning without an enforcing module: the test configuration loads
-- neither pg_hint_plan nor pg_plan_advice, so on every major pin() refuses
-- with feature_not_supported (on 15 and 16 no module could help; the
-- module-dependent tests are test/t/021_pin.pl).  Arguments are checked,
-- nothing is left behind, and the functions are not granted to PUBLIC.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgperf;
RESET client_min_messages;
SELECT pgperf.reset() IS NOT NULL AS t;
CREATE TABLE pin_t (id int, grp int);
INSERT INTO pin_t SELECT i, i % 100 FROM generate_series(1, 1000) i;
CREATE INDEX pin_t_grp ON pin_t (grp);
ANALYZE pin_t;
SELECT count(*) FROM pin_t WHERE grp = 5;

-- no module: a clear error, with its SQLSTATE (the message names the module
-- or the major, which differ between majors)
DO $$
DECLARE
  q bigint;
  p bigint;
  msg text;
  hint text;
BEGIN
  SELECT queryid, planid INTO q, p FROM pgperf.plans WHERE plan LIKE '%pin_t%' LIMIT 1;
  PERFORM pgperf.pin(q, p);
EXCEPTION WHEN feature_not_supported THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RAISE NOTICE 'refused: %, hint names a package: %',
    msg LIKE 'plan pinning is not available: %', hint ~ 'postgresql-(NN|[0-9]+)-pg-hint-plan';
END $$;
SELECT count(*) AS pins FROM pgperf.pins;

-- bad input
SELECT pgperf.pin(NULL, 1);
SELECT pgperf.pin(1, NULL);
SELECT pgperf.unpin(NULL);
SELECT pgperf.unpin(12345);

-- not for everyone
CREATE ROLE pin_user;
SET ROLE pin_user;
SELECT pgperf.pin(1, 2);
SELECT pgperf.unpin(1);
SELECT count(*) AS pins FROM pgperf.pins;
SELECT count(*) FROM pgperf.pin_store;
RESET ROLE;
DROP ROLE pin_user;

-- every new object has a comment
SELECT c.relname, obj_description(c.oid, 'pg_class') IS NOT NULL AS commented
  FROM pg_class c WHERE c.relnamespace = 'pgperf'::regnamespace
   AND c.relname IN ('pins', 'pin_store') ORDER BY 1;
SELECT p.proname, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
  FROM pg_proc p WHERE p.pronamespace = 'pgperf'::regnamespace
   AND p.proname IN ('pin', 'unpin', 'pin_status') ORDER BY 1;
DROP TABLE pin_t;
