-- try_index(hypothetical => true): hypopg's index, planner estimates only,
-- nothing built or run, the table and the catalogs exactly as before.  Run
-- where hypopg is installed (the Makefile leaves this test out elsewhere:
-- Debian has no hypopg for PostgreSQL 19 yet).
SET client_min_messages = warning;	-- the summary NOTICE names the size
SET pgperf.track = top;

CREATE TABLE trial_h (id int PRIMARY KEY, k int NOT NULL, payload text NOT NULL)
  WITH (autovacuum_enabled = off);
INSERT INTO trial_h SELECT g, g % 500, repeat('x', 200) FROM generate_series(1, 20000) g;
CREATE TABLE trial_h_other (id int PRIMARY KEY, n int) WITH (autovacuum_enabled = off);
INSERT INTO trial_h_other VALUES (1, 0);
CREATE SEQUENCE trial_h_seq;
VACUUM ANALYZE trial_h, trial_h_other;
CREATE FUNCTION trial_h_state() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat_ws('|',
    (SELECT string_agg(t::text, ',' ORDER BY id) FROM trial_h t),
    (SELECT string_agg(t::text, ',' ORDER BY id) FROM trial_h_other t),
    (SELECT string_agg(c::text, ',' ORDER BY c.oid) FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace),
    (SELECT string_agg(i::text, ',' ORDER BY i.indexrelid) FROM pg_index i),
    (SELECT last_value || ',' || is_called FROM trial_h_seq)))
$$;
SELECT pgperf.reset() IS NOT NULL AS reset;

-- the workload pgperf captures
SELECT count(*) FROM trial_h WHERE k = 7;
SELECT count(*) FROM trial_h WHERE k = 7 AND random() < 2;
SELECT length(payload) FROM trial_h WHERE id = 3;
SELECT count(*) AS rows_with_k_5 FROM trial_h WHERE id % 500 = 5;
UPDATE trial_h SET k = k WHERE id % 1000 = 5;
SELECT nextval('trial_h_seq') > 0 AS advanced FROM trial_h WHERE id = 1;
INSERT INTO trial_h_other SELECT 2, count(*) FROM trial_h WHERE k = 9;
PREPARE by_hk(int) AS SELECT count(*), min(id) FROM trial_h WHERE k = $1;
EXECUTE by_hk(11);
DEALLOCATE by_hk;
SELECT trial_h_state() AS state_before \gset

CREATE EXTENSION hypopg;
SELECT kind, plan_changed, uses_index, ms_before IS NULL AS not_run,
       est_cost_after < est_cost_before AS cheaper, verdict,
       CASE WHEN kind = 'write' OR verdict = 'skipped' THEN reason END AS reason,
       query
  FROM pgperf.try_index('CREATE INDEX ON trial_h (k)', hypothetical => true)
 ORDER BY query;
SELECT count(*) AS hypothetical_left FROM hypopg_list_indexes;
DROP EXTENSION hypopg;
SELECT trial_h_state() = :'state_before' AS unchanged_after_hypothetical;

DROP FUNCTION trial_h_state();
DROP TABLE trial_h, trial_h_other;
DROP SEQUENCE trial_h_seq;
