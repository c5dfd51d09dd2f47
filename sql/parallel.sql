--
-- Parallel query: the buffers read by parallel workers are counted in the
-- statement's entry (the workers themselves create no entries).
--
SET pgperf.track = top;
CREATE TABLE par (id int, pad text);
INSERT INTO par SELECT g, repeat('p', 200) FROM generate_series(1, 20000) g;
VACUUM ANALYZE par;
SELECT pg_relation_size('par') / current_setting('block_size')::int AS relpages \gset

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- the leader reads nothing itself: every block is a worker's
SET parallel_leader_participation = off;
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT count(*) FROM par WHERE pad <> '';
RESET parallel_leader_participation;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
RESET max_parallel_workers_per_gather;

SELECT plan FROM pgperf.plans WHERE sample_query LIKE 'SELECT count(*) FROM par%';
SELECT calls, shared_blks_hit + shared_blks_read >= :relpages AS all_blocks_counted
  FROM pgperf.statements WHERE query LIKE 'SELECT count(*) FROM par%';
-- one entry: workers add nothing of their own
SELECT count(*) AS entries FROM pgperf.statements WHERE query NOT LIKE '%pgperf%';
DROP TABLE par;
