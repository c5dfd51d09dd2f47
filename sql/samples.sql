--
-- Plan text and sample: kept once per (queryid, planid), from the execution
-- that first ran the shape, never rebuilt.
--
SET pgperf.track = top;
CREATE TABLE smp (id int PRIMARY KEY, tag text, at date);
INSERT INTO smp SELECT g, 't' || (g % 7), date '2024-01-01' + g FROM generate_series(1, 500) g;
VACUUM ANALYZE smp;
SELECT pgperf.reset() IS NOT NULL AS t;

-- the sample is the first execution, constants included; later executions
-- with other constants change the counters, not the texts
SELECT tag FROM smp WHERE id = 42;
SELECT tag FROM smp WHERE id = 43;
SELECT tag FROM smp WHERE id = 44;
SELECT s.calls AS stmt_calls, p.calls AS plan_calls, p.sample_query, p.plan,
       p.sample_params, p.sample_truncated
  FROM pgperf.statements s JOIN pgperf.plans p USING (queryid, planid)
 WHERE s.query = 'SELECT tag FROM smp WHERE id = $1';

-- parameter values of a prepared statement are kept with their types
PREPARE smp_q(int, text, date) AS
  SELECT count(*) FROM smp WHERE id > $1 AND tag = $2 AND at < $3;
EXECUTE smp_q(10, 't3', '2024-06-01');
EXECUTE smp_q(20, 't4', '2024-07-01');
SELECT p.calls, p.sample_params, p.sample_param_types, p.sample_truncated
  FROM pgperf.plans p JOIN pgperf.statements s USING (queryid, planid)
 WHERE s.query LIKE 'PREPARE smp_q%';
-- values are kept in ISO style; the session's own settings are untouched
SHOW datestyle;
-- NULL parameter values stay NULL
PREPARE smp_n(int, text) AS SELECT count(*) FROM smp WHERE id = $1 OR tag = $2;
EXECUTE smp_n(NULL, 't1');
SELECT p.sample_params, p.sample_params[1] IS NULL AS first_is_null
  FROM pgperf.plans p JOIN pgperf.statements s USING (queryid, planid)
 WHERE s.query LIKE 'PREPARE smp_n%';

-- the sample is cut at pgperf.max_sample_length, on a character boundary
SET pgperf.max_sample_length = 40;
SELECT count(*) FROM smp WHERE tag IN ('t1', 't2') AND at > '2024-02-01' AND id <> 77;
SELECT p.sample_query, length(p.sample_query) <= 40 AS bounded, p.sample_truncated
  FROM pgperf.plans p JOIN pgperf.statements s USING (queryid, planid)
 WHERE s.query LIKE 'SELECT count(*) FROM smp WHERE tag IN%';
SET pgperf.max_sample_length = 16;
SELECT 'ééééééééééé' AS accents FROM smp WHERE id = 1;
SELECT p.sample_query, octet_length(p.sample_query) <= 16 AS bounded
  FROM pgperf.plans p JOIN pgperf.statements s USING (queryid, planid)
 WHERE s.query LIKE 'SELECT $1 AS accents%';
RESET pgperf.max_sample_length;

-- query and plan texts are cut at pgperf.max_text_length
SET pgperf.max_text_length = 256;
SELECT id FROM smp WHERE tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x'
  OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x'
  OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x'
  OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x' OR tag = 'x';
SELECT octet_length(s.query) <= 256 AS query_bounded, octet_length(p.plan) <= 256 AS plan_bounded
  FROM pgperf.plans p JOIN pgperf.statements s USING (queryid, planid)
 WHERE s.query LIKE 'SELECT id FROM smp WHERE tag = $1 OR%';
RESET pgperf.max_text_length;

-- only superusers may change the limits
CREATE ROLE smp_user;
SET ROLE smp_user;
SET pgperf.max_sample_length = 0;
RESET ROLE;
DROP ROLE smp_user;

DEALLOCATE smp_q;
DEALLOCATE smp_n;
DROP TABLE smp;
