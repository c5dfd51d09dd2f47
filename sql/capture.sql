--
-- Capture: every statement is counted per (queryid, planid) with its time,
-- rows, buffers and WAL; texts are normalized.
--
CREATE EXTENSION pgperf;
SET pgperf.track = top;

CREATE TABLE cap (id int PRIMARY KEY, grp int, payload text);
INSERT INTO cap SELECT g, g % 10, repeat('x', 50) FROM generate_series(1, 1000) g;
VACUUM ANALYZE cap;
-- clean buffers, so that the writes below dirty them
CHECKPOINT;

SELECT pgperf.reset() IS NOT NULL AS t;

-- one statement, three constants: one entry, three calls
SELECT payload IS NOT NULL AS t FROM cap WHERE id = 1;
SELECT payload IS NOT NULL AS t FROM cap WHERE id = 2;
SELECT payload IS NOT NULL AS t FROM cap WHERE id = -3;
SELECT count(*) FROM cap WHERE grp = 4;
UPDATE cap SET payload = 'y' WHERE id <= 10;
DELETE FROM cap WHERE id = 1000;
INSERT INTO cap VALUES (1000, 0, 'z');
MERGE INTO cap c USING (VALUES (999, 'm')) AS v(id, p) ON c.id = v.id
  WHEN MATCHED THEN UPDATE SET payload = v.p
  WHEN NOT MATCHED THEN INSERT VALUES (v.id, 0, v.p);
-- not executed: EXPLAIN without ANALYZE is not a call
EXPLAIN (COSTS OFF) SELECT * FROM cap WHERE id = 5;

SELECT query, calls, rows, window_id = (SELECT current_window FROM pgperf.info) AS current_window,
       toplevel
  FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%'
 ORDER BY query COLLATE "C";

-- invariants of the timing figures
SELECT query,
       total_exec_ms > 0 AS timed,
       min_exec_ms <= mean_exec_ms AND mean_exec_ms <= max_exec_ms AS min_mean_max,
       p50_ms <= p95_ms AND p95_ms <= p99_ms AS ordered_percentiles,
       p50_ms >= min_exec_ms AND p99_ms <= max_exec_ms AS percentiles_in_range,
       stddev_exec_ms >= 0 AS stddev,
       first_seen <= last_seen AS seen
  FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%'
 ORDER BY query COLLATE "C";

-- buffers: reads touch blocks, writes dirty them and write WAL
SELECT query,
       shared_blks_hit + shared_blks_read > 0 AS blocks,
       shared_blks_dirtied > 0 AS dirtied,
       wal_records > 0 AS wal_records,
       wal_bytes > 0 AS wal_bytes
  FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%'
 ORDER BY query COLLATE "C";

-- a point select through the primary key touches a handful of blocks per call
SELECT (shared_blks_hit + shared_blks_read) / calls BETWEEN 1 AND 4 AS few_blocks
  FROM pgperf.statements WHERE query LIKE 'SELECT payload%';

-- a cursor fetched in pieces: one call, every row counted
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM cap WHERE grp = 7 ORDER BY id;
FETCH 10 FROM c;
FETCH 10 FROM c;
FETCH ALL FROM c;
CLOSE c;
COMMIT;
SELECT calls, rows FROM pgperf.statements WHERE query LIKE 'DECLARE c CURSOR%';

-- statements that fail are not counted as calls, but as failures, with
-- the plan they ran (captured before it ran)
SELECT 1 / (id - id) FROM cap WHERE id = 5;
SELECT s.calls, s.failed_calls, s.failed_canceled, s.last_failure_sqlstate, p.plan
  FROM pgperf.statements s JOIN pgperf.plans p USING (queryid, planid)
 WHERE s.query LIKE 'SELECT $1 / (id - id)%';

-- every entry has a planid and the same planid as its plan record
SELECT count(*) FILTER (WHERE planid = 0) AS zero_planids FROM pgperf.statements;
SELECT count(*) AS unmatched
  FROM pgperf.statements s
 WHERE NOT EXISTS (SELECT 1 FROM pgperf.plans p
                    WHERE p.queryid = s.queryid AND p.planid = s.planid);

-- info
SELECT entries > 0 AS entries, entries <= max_entries AS bounded, max_entries,
       current_window = (SELECT max(window_id) FROM pgperf.windows) AS current_window,
       evictions, text_used_bytes > 0 AS texts
  FROM pgperf.info;

-- a partial reset: one statement's entries go, the rest stay
SELECT pgperf.reset(0, 0, queryid) IS NOT NULL AS t
  FROM pgperf.statements WHERE query LIKE 'SELECT count(*) FROM cap%';
SELECT count(*) FROM pgperf.statements WHERE query LIKE 'SELECT count(*) FROM cap%';
SELECT count(*) > 0 AS others_kept FROM pgperf.statements WHERE query LIKE 'UPDATE cap%';

-- a full reset empties everything and moves stats_since
SELECT stats_since AS before_reset FROM pgperf.info \gset
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT entries, plans, evictions, stats_since > :'before_reset' AS moved FROM pgperf.info;

DROP TABLE cap;
