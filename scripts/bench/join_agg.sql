-- pgbench script for scripts/bench.sh: a join, an aggregate and a sort, so the
-- plan has 5+ nodes (bench.sh checks with EXPLAIN and prints the plan).
-- Run with -s <scale> so that :scale is right (custom scripts default to 1).
\set a random(1, 100000 * :scale - 50)
SELECT b.bid, count(*), sum(a.abalance) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid) WHERE a.aid BETWEEN :a AND :a + 50 GROUP BY b.bid ORDER BY b.bid;
