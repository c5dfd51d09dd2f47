-- try_index(): what it refuses (and that nothing changes then), which
-- captured statements it replays and which it skips and why, the lock and
-- rollback guarantees (the table's rows, pg_class, pg_index and a sequence
-- are exactly as before), keep, the per-run timeout,
-- the time budget, and who may try an index on which table.  Only what is
-- deterministic is shown: plans, index use, blocks compared, reasons, never
-- a time or a timed verdict (the TAP test 013 judges the scenarios).
SET client_min_messages = warning;	-- the summary NOTICE holds timings

CREATE TABLE trial_items (id int PRIMARY KEY, k int NOT NULL, payload text NOT NULL)
  WITH (autovacuum_enabled = off);
INSERT INTO trial_items SELECT g, g % 500, repeat('x', 200) FROM generate_series(1, 20000) g;
CREATE TABLE trial_other (id int PRIMARY KEY, n int) WITH (autovacuum_enabled = off);
INSERT INTO trial_other VALUES (1, 0);
CREATE SEQUENCE trial_seq;
CREATE VIEW trial_view AS SELECT * FROM trial_items;
CREATE TABLE trial_parts (k int) PARTITION BY RANGE (k);
VACUUM ANALYZE trial_items, trial_other;

-- The state a trial must leave as it found it.
CREATE FUNCTION trial_state() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat_ws('|',
    (SELECT string_agg(t::text, ',' ORDER BY id) FROM trial_items t),
    (SELECT string_agg(t::text, ',' ORDER BY id) FROM trial_other t),
    (SELECT string_agg(c::text, ',' ORDER BY c.oid) FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace),
    (SELECT string_agg(i::text, ',' ORDER BY i.indexrelid) FROM pg_index i),
    (SELECT last_value || ',' || is_called FROM trial_seq)))
$$;

SELECT pgperf.reset() IS NOT NULL AS reset;

-- The workload pgperf captures (track = top): samples with constants, and
-- one with a parameter (EXECUTE).
SELECT count(*) FROM trial_items WHERE k = 7;
SELECT count(*) FROM trial_items WHERE k = 7 AND random() < 2;
SELECT length(payload) FROM trial_items WHERE id = 3;
UPDATE trial_items SET k = k WHERE id % 1000 = 5;
SELECT nextval('trial_seq') > 0 AS advanced FROM trial_items WHERE id = 1;
INSERT INTO trial_other SELECT 2, count(*) FROM trial_items WHERE k = 9;
UPDATE trial_other SET n = n + 1 WHERE id = 1;
PREPARE by_k(int) AS SELECT count(*), min(id) FROM trial_items WHERE k = $1;
EXECUTE by_k(11);
DEALLOCATE by_k;

SELECT trial_state() AS state_before \gset

-- Bad input: a clear error each, and nothing runs.
\set VERBOSITY terse
SELECT * FROM pgperf.try_index(NULL);
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', NULL);
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', include_writes => NULL);
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', keep => NULL);
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', hypothetical => NULL);
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', 0);
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', 1001);
SELECT * FROM pgperf.try_index('');
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k); DROP TABLE trial_other');
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k) /* ; */ ; DROP TABLE trial_other --');
SELECT * FROM pgperf.try_index('DROP TABLE trial_other');
SELECT * FROM pgperf.try_index('SELECT 1');
SELECT * FROM pgperf.try_index('CREATE INDEX CONCURRENTLY ON trial_items (k)');
SELECT * FROM pgperf.try_index('CREATE INDEX ON');
DO $$ BEGIN		-- the error would quote the megabyte: show its SQLSTATE only
  PERFORM pgperf.try_index(repeat('x', 1000000));
EXCEPTION WHEN syntax_error THEN RAISE WARNING 'a megabyte of garbage: syntax_error';
END $$;
SELECT * FROM pgperf.try_index('CREATE INDEX ON no_such_table (k)');
-- (whether the message gives the position varies by major: its SQLSTATE)
\set VERBOSITY sqlstate
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (no_such_column)');
\set VERBOSITY terse
SELECT * FROM pgperf.try_index('CREATE INDEX trial_items_pkey ON trial_items (k)');
SELECT * FROM pgperf.try_index('CREATE INDEX IF NOT EXISTS trial_items_pkey ON trial_items (k)');
SELECT * FROM pgperf.try_index('CREATE UNIQUE INDEX ON trial_items (k)');
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_view (k)');
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_parts (k)');
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', keep => true, hypothetical => true);
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', hypothetical => true);
BEGIN READ ONLY;
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)');
ROLLBACK;
\set VERBOSITY default
SELECT trial_state() = :'state_before' AS unchanged_after_bad_input;

-- A real trial: an index on k.  The lookups by k change plan and use it,
-- reading fewer blocks; the lookup by id does not touch k's index; the
-- UPDATE (of k) must now maintain it: more blocks and WAL per run.  The
-- statements that could act outside the trial are skipped, with a reason.
SELECT kind, plan_changed, uses_index,
       blks_after < blks_before AS fewer_blocks,
       wal_bytes_after > wal_bytes_before AS more_wal,
       CASE WHEN verdict = 'skipped' THEN reason END AS skipped_because,
       index_bytes > 0 AS sized, build_ms >= 0 AS timed,
       query
  FROM pgperf.try_index('CREATE INDEX trial_items_k ON trial_items (k)')
 ORDER BY query;
SELECT trial_state() = :'state_before' AS unchanged_after_trial;
SELECT count(*) AS trial_index_left FROM pg_class WHERE relname = 'trial_items_k';
-- the replays were not counted as statistics
SELECT sum(calls) AS calls_of_k_lookups FROM pgperf.statements
 WHERE query = 'SELECT count(*) FROM trial_items WHERE k = $1';

-- include_writes => false lists the reads only
SELECT kind, count(*)
  FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', 3, include_writes => false)
 GROUP BY kind ORDER BY kind;

-- One run a side cannot test a time: where the plan changed (the lookups by
-- k), that is insufficient_data, never unchanged.  The work decides the
-- rest, whatever the runs: the lookup by id keeps its plan and its work
-- (unchanged), the UPDATE of k keeps its plan and must maintain the index
-- (regressed).
SELECT verdict, regexp_replace(reason, '[0-9]+ -> [0-9]+ \([-+][0-9]+%\)', 'B -> A', 'g') AS reason,
       CASE WHEN verdict = 'regressed' THEN saved_ms_per_sec <= 0
            ELSE saved_ms_per_sec = 0 END AS time_credited_right, query
  FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', 1)
 WHERE verdict <> 'skipped'
 ORDER BY query;

-- keep => true: the index stays, with the calling transaction; writes do not
BEGIN;
SELECT count(*) > 0 AS rows
  FROM pgperf.try_index('CREATE INDEX trial_items_kept ON trial_items (k)', 2, keep => true);
SELECT indexrelid::regclass AS kept FROM pg_index
 WHERE indrelid = 'trial_items'::regclass AND indexrelid::regclass::text = 'trial_items_kept';
SELECT count(*) AS rows_with_k_5 FROM trial_items WHERE id % 1000 = 5;
ROLLBACK;
-- The caller's rollback takes the index away.  Not the table's size figures
-- in pg_class, which CREATE INDEX sets in place (as it always does, trial or
-- not): the baseline is taken again.
SELECT count(*) AS kept_after_rollback FROM pg_class WHERE relname = 'trial_items_kept';
SELECT trial_state() AS state_before \gset

-- Hypothetical trials: sql/try_index_hypo.sql, where hypopg is installed.

-- A replay longer than pgperf.trial_statement_timeout is skipped, and the
-- trial goes on; a spent pgperf.trial_time_budget skips what is left.
SELECT count(*) FROM trial_items a JOIN trial_items b ON a.k = b.k;
SELECT count(*) FROM trial_items a JOIN trial_items b ON a.k = b.k;
SET pgperf.trial_statement_timeout = 1;
SELECT verdict, reason FROM pgperf.try_index('CREATE INDEX ON trial_items (k)')
 WHERE query LIKE '%a.k = b.k%';
RESET pgperf.trial_statement_timeout;
SET pgperf.trial_time_budget = 100;
SELECT count(*) > 0 AS some_skipped_for_budget
  FROM pgperf.try_index('CREATE INDEX ON trial_items (k)', 20)
 WHERE reason LIKE '%pgperf.trial_time_budget was spent%';
RESET pgperf.trial_time_budget;
SELECT trial_state() = :'state_before' AS unchanged_after_timeouts;

-- Privileges: not granted to PUBLIC; a grantee must own the table, and
-- replays only its own statements (texts of others are not its to see).
CREATE ROLE regress_trial_owner;
CREATE TABLE trial_owned (id int PRIMARY KEY, k int) WITH (autovacuum_enabled = off);
INSERT INTO trial_owned SELECT g, g % 50 FROM generate_series(1, 2000) g;
ALTER TABLE trial_owned OWNER TO regress_trial_owner;
GRANT SELECT ON trial_items TO regress_trial_owner;
SELECT count(*) FROM trial_owned WHERE k = 3;	-- the superuser's statement
SET ROLE regress_trial_owner;
SELECT count(*) FROM trial_owned WHERE k = 4 AND id > 0;	-- the owner's
\set VERBOSITY terse
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_owned (k)');
RESET ROLE;
GRANT EXECUTE ON FUNCTION pgperf.try_index(text, integer, boolean, boolean, boolean)
  TO regress_trial_owner;
GRANT CREATE ON SCHEMA public TO regress_trial_owner;	-- CREATE INDEX needs it
SET ROLE regress_trial_owner;
SELECT * FROM pgperf.try_index('CREATE INDEX ON trial_items (k)');
\set VERBOSITY default
SELECT query, plan_changed, uses_index
  FROM pgperf.try_index('CREATE INDEX ON trial_owned (k)');
RESET ROLE;
DROP TABLE trial_owned;
REVOKE ALL ON trial_items FROM regress_trial_owner;
REVOKE CREATE ON SCHEMA public FROM regress_trial_owner;
REVOKE EXECUTE ON FUNCTION pgperf.try_index(text, integer, boolean, boolean, boolean)
  FROM regress_trial_owner;
DROP ROLE regress_trial_owner;
