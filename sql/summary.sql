--
-- pgperf.summary: every window added up, per statement and plan (or per
-- statement with get_summary(by_plan => false)): counts and sums added,
-- latency histograms merged, blocks and WAL per call, the windows counted.
--
SET pgperf.track = top;
CREATE TABLE sm (id int PRIMARY KEY, grp int, note text);
INSERT INTO sm SELECT g, g % 10, 'n' || g FROM generate_series(1, 2000) g;
CREATE INDEX sm_grp ON sm (grp);
ANALYZE sm;
SELECT pgperf.reset() IS NOT NULL AS t;

-- three windows: 3 calls, 2 calls, then (after the index is dropped) 4
-- calls with another plan
SELECT count(*) FROM sm WHERE grp = 1 \g /dev/null
SELECT count(*) FROM sm WHERE grp = 2 \g /dev/null
SELECT count(*) FROM sm WHERE grp = 3 \g /dev/null
SELECT pgperf.mark('two') IS NOT NULL AS t;
SELECT count(*) FROM sm WHERE grp = 4 \g /dev/null
SELECT count(*) FROM sm WHERE grp = 5 \g /dev/null
UPDATE sm SET note = note WHERE id = 1;
DROP INDEX sm_grp;
SELECT count(*) FROM sm WHERE grp = 6 \g /dev/null
SELECT count(*) FROM sm WHERE grp = 7 \g /dev/null
SELECT count(*) FROM sm WHERE grp = 8 \g /dev/null
SELECT count(*) FROM sm WHERE grp = 9 \g /dev/null

-- one row per plan, each plan's windows added up
SELECT query, windows, calls, rows, shared_blks_hit_per_call + shared_blks_read_per_call > 0 AS blocks,
       p50_ms <= p95_ms AND p95_ms <= p99_ms AND min_exec_ms <= p50_ms AND p99_ms <= max_exec_ms AS ordered,
       failed_calls, first_seen <= last_seen AS seen
  FROM pgperf.summary WHERE query LIKE '%FROM sm%'
 ORDER BY query COLLATE "C", calls;
-- a write's WAL per call
SELECT query, calls, wal_bytes_per_call > 0 AS wal FROM pgperf.summary WHERE query LIKE 'UPDATE sm%';
-- the same as adding up pgperf.statements
SELECT count(*) AS mismatches
  FROM pgperf.summary s
  JOIN (SELECT userid, dbid, toplevel, queryid, planid, count(*) AS windows, sum(calls) AS calls,
               sum(rows) AS rows, sum(total_exec_ms) AS total, min(min_exec_ms) AS min_ms,
               max(max_exec_ms) AS max_ms, sum(shared_blks_hit) AS hit, sum(shared_blks_read) AS read,
               sum(wal_bytes) AS wal, sum(failed_calls) AS failed, min(first_seen) AS first_seen,
               max(last_seen) AS last_seen, min(p50_ms) AS min_p50, max(p50_ms) AS max_p50
          FROM pgperf.statements GROUP BY 1, 2, 3, 4, 5) st
       USING (userid, dbid, toplevel, queryid, planid)
 WHERE s.windows <> st.windows OR s.calls <> st.calls OR s.rows <> st.rows
    OR abs(s.total_exec_ms - st.total) > 1e-6 OR s.min_exec_ms <> st.min_ms OR s.max_exec_ms <> st.max_ms
    OR abs(s.shared_blks_hit_per_call * s.calls - st.hit) > 1e-6
    OR abs(s.shared_blks_read_per_call * s.calls - st.read) > 1e-6
    OR abs(s.wal_bytes_per_call * s.calls - st.wal) > 1e-6
    OR s.failed_calls <> st.failed OR s.first_seen <> st.first_seen OR s.last_seen <> st.last_seen
    -- the median of merged windows lies between the windows' medians, to a
    -- bin: a percentile is its bin's middle (10% wide; bin 0 is every value
    -- under 0.01 ms), or the exact minimum when its rank is the first
    OR s.p50_ms < st.min_p50 / 1.1 - 0.01 OR s.p50_ms > st.max_p50 * 1.1 + 0.01;
-- a single window's percentiles are that window's
SELECT count(*) AS mismatches
  FROM pgperf.get_summary(from_window => (SELECT current_window FROM pgperf.info)) s
  JOIN pgperf.statements st USING (userid, dbid, toplevel, queryid, planid)
 WHERE st.window_id = (SELECT current_window FROM pgperf.info)
   AND (s.p50_ms, s.p95_ms, s.p99_ms, s.calls) IS DISTINCT FROM (st.p50_ms, st.p95_ms, st.p99_ms, st.calls);

-- by_plan => false: one row per statement, its plans merged
SELECT query, planid, windows, calls, rows
  FROM pgperf.get_summary(by_plan => false) WHERE query LIKE '%FROM sm%'
 ORDER BY query COLLATE "C";
-- from_window: only the windows from that one on
SELECT query, windows, calls
  FROM pgperf.get_summary(by_plan => false,
                          from_window => (SELECT window_id FROM pgperf.windows WHERE label = 'two'))
 WHERE query LIKE '%FROM sm%' ORDER BY query COLLATE "C";
-- without texts
SELECT count(*) FILTER (WHERE query IS NOT NULL) AS texts, count(*) > 0 AS rows
  FROM pgperf.get_summary(showtext => false);

-- other roles' texts are hidden; their counters are not
CREATE ROLE sm_reader;
SET ROLE sm_reader;
SELECT query, calls FROM pgperf.summary WHERE queryid IN
  (SELECT queryid FROM pgperf.summary WHERE calls = 4 AND planid IS NOT NULL AND rows = 4)
 ORDER BY calls;
RESET ROLE;
DROP ROLE sm_reader;

-- bad arguments
\set VERBOSITY terse
SELECT * FROM pgperf.get_summary(NULL);
SELECT * FROM pgperf.get_summary(true, NULL);
SELECT * FROM pgperf.get_summary(true, true, 0);
\set VERBOSITY default

DROP TABLE sm;
