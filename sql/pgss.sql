--
-- queryid: pgperf's queryid is core's, the one pg_stat_statements shows; the
-- two extensions run side by side (both preloaded in the test instance).
--
CREATE EXTENSION pg_stat_statements;
SET pgperf.track = top;
SET pg_stat_statements.track = top;
CREATE TABLE qs (id int PRIMARY KEY, v int);
INSERT INTO qs SELECT g, g FROM generate_series(1, 100) g;
SELECT pg_stat_statements_reset() IS NOT NULL AS t;
SELECT pgperf.reset() IS NOT NULL AS t;

SELECT v FROM qs WHERE id = 1;
SELECT v FROM qs WHERE id = 2;
SELECT count(*) FROM qs WHERE v > 50;
UPDATE qs SET v = v + 1 WHERE id = 3;
PREPARE qs_p(int) AS SELECT v FROM qs WHERE id = $1;
EXECUTE qs_p(4);

-- every statement pgperf counted has a pg_stat_statements row with the same
-- queryid, the same text and the same number of calls
SELECT p.query, p.calls AS pgperf_calls, s.calls AS pgss_calls,
       p.query = s.query AS same_text
  FROM (SELECT queryid, query, sum(calls) AS calls FROM pgperf.statements
         WHERE query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pgperf%'
         GROUP BY queryid, query) p
  LEFT JOIN pg_stat_statements s ON s.queryid = p.queryid AND s.toplevel
 ORDER BY p.query COLLATE "C";

DEALLOCATE qs_p;
DROP TABLE qs;
DROP EXTENSION pg_stat_statements;
