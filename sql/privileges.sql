--
-- Privileges: everyone sees every entry's counters; texts, plans and samples
-- of other roles only superusers and pg_read_all_stats members see; reset is
-- not granted to PUBLIC.
--
SET pgperf.track = top;
CREATE ROLE priv_alice;
CREATE ROLE priv_bob;
CREATE ROLE priv_reader IN ROLE pg_read_all_stats;
CREATE TABLE priv_t (id int PRIMARY KEY, secret text);
INSERT INTO priv_t VALUES (1, 'alice-secret'), (2, 'bob-secret');
GRANT SELECT ON priv_t TO priv_alice, priv_bob;
SELECT pgperf.reset() IS NOT NULL AS t;

SET ROLE priv_alice;
SELECT secret FROM priv_t WHERE secret = 'alice-secret';
RESET ROLE;
SET ROLE priv_bob;
SELECT id FROM priv_t WHERE id = 2;
RESET ROLE;

-- alice sees her own texts and bob's counters, not bob's texts
SET ROLE priv_alice;
SELECT r.rolname, s.query, s.calls
  FROM pgperf.statements s JOIN pg_roles r ON r.oid = s.userid
 WHERE r.rolname LIKE 'priv_%' AND s.query NOT LIKE '%pgperf.%' ORDER BY r.rolname;
SELECT r.rolname, p.plan, p.sample_query, p.sample_params
  FROM pgperf.plans p JOIN pg_roles r ON r.oid = p.userid
 WHERE r.rolname LIKE 'priv_%' AND p.sample_query NOT LIKE '%pgperf.%' ORDER BY r.rolname;
-- and may not reset
SELECT pgperf.reset();
RESET ROLE;

-- a pg_read_all_stats member sees everyone's texts, and still may not reset
SET ROLE priv_reader;
SELECT r.rolname, s.query, s.calls
  FROM pgperf.statements s JOIN pg_roles r ON r.oid = s.userid
 WHERE r.rolname LIKE 'priv_%' AND s.query NOT LIKE '%pgperf.%' ORDER BY r.rolname;
SELECT r.rolname, p.sample_query
  FROM pgperf.plans p JOIN pg_roles r ON r.oid = p.userid
 WHERE r.rolname LIKE 'priv_%' AND p.sample_query NOT LIKE '%pgperf.%' ORDER BY r.rolname;
SELECT pgperf.reset();
RESET ROLE;

-- reset can be granted, like any function
GRANT EXECUTE ON FUNCTION pgperf.reset(oid, oid, bigint) TO priv_bob;
SET ROLE priv_bob;
SELECT pgperf.reset() IS NOT NULL AS t;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pgperf.reset(oid, oid, bigint) FROM priv_bob;

-- what PUBLIC is granted: the views and the functions that read, not reset
SELECT p.proname, has_function_privilege('priv_alice', p.oid, 'EXECUTE') AS can_execute
  FROM pg_proc p WHERE p.pronamespace = 'pgperf'::regnamespace
 ORDER BY p.proname COLLATE "C";
SELECT c.relname, has_table_privilege('priv_alice', c.oid, 'SELECT') AS can_select
  FROM pg_class c WHERE c.relnamespace = 'pgperf'::regnamespace
 ORDER BY c.relname COLLATE "C";

-- compare() shows a role only its own plans: bob's plan before, alice's
-- after; alice sees that the plan changed, not what bob's plan was
CREATE INDEX priv_t_secret ON priv_t (secret);
SET pgperf.compare_min_calls = 2;
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT pgperf.mark('bob') AS w_bob \gset
SET ROLE priv_bob;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM priv_t WHERE secret = 'x' \g /dev/null
SELECT count(*) FROM priv_t WHERE secret = 'x' \g /dev/null
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pgperf.mark('alice') AS w_alice \gset
SET ROLE priv_alice;
SET enable_seqscan = off;
SELECT count(*) FROM priv_t WHERE secret = 'x' \g /dev/null
SELECT count(*) FROM priv_t WHERE secret = 'x' \g /dev/null
RESET enable_seqscan;
SELECT plan_changed, regexp_replace(reason, '-?[0-9]+', 'N', 'g') AS reason
  FROM pgperf.compare(:w_bob, :w_alice) WHERE query LIKE 'SELECT count(*) FROM priv_t%';
SELECT regexp_replace(line, '-?[0-9]+', 'N', 'g') AS line
  FROM pgperf.plan_diff((SELECT queryid FROM pgperf.compare(:w_bob, :w_alice)
                         WHERE query LIKE 'SELECT count(*) FROM priv_t%'), :w_bob, :w_alice) AS line
 WHERE line NOT LIKE '%mean%';
RESET ROLE;
-- a superuser sees both plans
SELECT plan_changed, regexp_replace(reason, '-?[0-9]+(\.[0-9]+)?', 'N', 'g') AS reason
  FROM pgperf.compare(:w_bob, :w_alice) WHERE query LIKE 'SELECT count(*) FROM priv_t%';
RESET pgperf.compare_min_calls;

DROP TABLE priv_t;
DROP ROLE priv_alice, priv_bob, priv_reader;
