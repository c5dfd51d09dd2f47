--
-- Security: each attack of issue 11, tried as an attacker would, and shown to
-- fail with the state unchanged.  regress_sec_mallory is an ordinary role;
-- the test's superuser is the victim who tries indexes, and whose rights
-- mallory's code wants.  Mallory's code, if it ever runs with a superuser's
-- rights, sets the sequence sec_witness (a rollback does not undo setval())
-- and makes mallory a superuser; sec_state() shows both after each attack.
-- Then windows: temporary and new tables open none, DDL storms coalesce,
-- prepared transactions' DDL waits for COMMIT PREPARED, and other roles' DDL
-- texts are hidden.  Then the time budget.  Timings are never shown.
--
SET client_min_messages = warning;	-- try_index()'s summary NOTICE holds timings
SET pgperf.track = top;

CREATE TABLE sec_orders (id int PRIMARY KEY, cust int NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO sec_orders SELECT g, g % 100 FROM generate_series(1, 2000) g;
VACUUM ANALYZE sec_orders;
CREATE SEQUENCE sec_witness;
CREATE ROLE regress_sec_mallory;
CREATE ROLE regress_sec_reader IN ROLE pg_read_all_stats;
CREATE SCHEMA sec_m AUTHORIZATION regress_sec_mallory;

CREATE FUNCTION sec_state() RETURNS text LANGUAGE sql AS $$
  SELECT concat_ws(' ',
    'mallory superuser: ' || (SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sec_mallory'),
    '| witness: ' || (SELECT last_value || CASE WHEN is_called THEN ' (set)' ELSE ' (untouched)' END
                        FROM sec_witness))
$$;

SELECT pgperf.reset() IS NOT NULL AS reset;

-- Mallory's tools: a VOLATILE function that escalates when it runs with a
-- superuser's rights, and an IMMUTABLE one that calls it (a label can lie).
SET ROLE regress_sec_mallory;
CREATE FUNCTION sec_m.escalate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    PERFORM setval('public.sec_witness', 666);
    ALTER ROLE regress_sec_mallory SUPERUSER;
  END IF;
  RETURN true;
END $$;
CREATE FUNCTION sec_m.k(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM sec_m.escalate();
  RETURN $1;
END $$;

-- 1. A CTE named like the table: constant folding of k(42) at planning.
-- Mallory cannot even read sec_orders.
WITH sec_orders AS MATERIALIZED (SELECT 1 AS x) SELECT * FROM sec_orders WHERE x = sec_m.k(42);
RESET ROLE;
SELECT sec_state();
SELECT count(*) AS cte_listed
  FROM pgperf.try_index('CREATE INDEX ON sec_orders (cust)', 1)
 WHERE query LIKE 'WITH sec_orders%';
SELECT sec_state();
-- (the same with hypothetical => true: sql/security_hypo.sql)
-- and with keep => true, committed: nothing of mallory's ran as superuser
SELECT count(*) >= 0 AS tried
  FROM pgperf.try_index('CREATE INDEX sec_orders_kept ON sec_orders (cust)', 1, keep => true);
SELECT sec_state();
DROP INDEX sec_orders_kept;

-- From here mallory may read the table, as a reporting role would: her
-- statements on it are candidates, replayed as mallory.
GRANT SELECT ON sec_orders TO regress_sec_mallory;
SET ROLE regress_sec_mallory;

-- 2. A user-defined aggregate: its own label is IMMUTABLE whatever its
-- transition function does; a second one's transition function says
-- VOLATILE, which the screen reads.
CREATE FUNCTION sec_m.step(int, int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM sec_m.escalate();
  RETURN coalesce($1, 0) + $2;
END $$;
CREATE AGGREGATE sec_m.total(int) (SFUNC = sec_m.step, STYPE = int);
CREATE FUNCTION sec_m.vstep(int, int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM sec_m.escalate();
  RETURN coalesce($1, 0) + $2;
END $$;
CREATE AGGREGATE sec_m.vtotal(int) (SFUNC = sec_m.vstep, STYPE = int);
SELECT sec_m.total(id) FROM sec_orders WHERE cust = 7;
SELECT sec_m.vtotal(id) FROM sec_orders WHERE cust = 8;

-- 3. A view calling the lying function on every row.
CREATE VIEW sec_m.v AS SELECT * FROM sec_orders WHERE sec_m.k(cust) = cust;
SELECT count(*) FROM sec_m.v WHERE cust = 9;

-- 4. A domain whose CHECK runs while the sample's parameter is read back
-- (PREPARE/EXECUTE: the sample keeps the parameter, typed by the domain).
CREATE FUNCTION sec_m.dom_ok(int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN sec_m.escalate();
END $$;
CREATE DOMAIN sec_m.dom AS int CHECK (sec_m.dom_ok(VALUE));
PREPARE sec_q(sec_m.dom) AS SELECT count(*) FROM sec_orders WHERE cust = $1;
EXECUTE sec_q(5);
DEALLOCATE sec_q;

-- 5. A table of mallory's own, named like the victim's, first on her
-- search_path.
CREATE TABLE sec_m.sec_orders (id int, cust int);
INSERT INTO sec_m.sec_orders VALUES (1, 1);
SET search_path = sec_m, public;
SELECT count(*) FROM sec_orders WHERE sec_m.k(cust) >= 0;
RESET search_path;
RESET ROLE;

SELECT sample_param_types, sample_search_path
  FROM pgperf.plans WHERE sample_query LIKE 'PREPARE sec_q%';
-- the aggregate, the view and the domain are replayed, as mallory; the
-- VOLATILE aggregate is skipped by the screen; the CTE and mallory's own
-- sec_orders are not statements on public.sec_orders at all
SELECT CASE WHEN verdict = 'skipped' THEN reason ELSE 'replayed' END AS outcome, query
  FROM pgperf.try_index('CREATE INDEX ON sec_orders (cust)', 1)
 WHERE query LIKE '%sec_m.%' OR query LIKE 'PREPARE sec_q%' OR query LIKE 'WITH sec_orders%'
 ORDER BY query COLLATE "C";
SELECT sec_state();

-- 6. Writes to mallory's own tables, tried by the superuser: a CHECK
-- constraint that lies (IMMUTABLE) and one that does not (VOLATILE), and an
-- index expression, all run by the replayed UPDATE.
SET ROLE regress_sec_mallory;
CREATE FUNCTION sec_m.check_ok(int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN sec_m.escalate();
END $$;
CREATE TABLE sec_m.checked (id int PRIMARY KEY, v int CHECK (sec_m.check_ok(v)));
INSERT INTO sec_m.checked SELECT g, g FROM generate_series(1, 500) g;
CREATE TABLE sec_m.vchecked (id int PRIMARY KEY, v int CHECK (sec_m.escalate()));
INSERT INTO sec_m.vchecked SELECT g, g FROM generate_series(1, 500) g;
CREATE TABLE sec_m.indexed (id int PRIMARY KEY, v int);
CREATE INDEX ON sec_m.indexed (sec_m.k(v));
INSERT INTO sec_m.indexed SELECT g, g FROM generate_series(1, 500) g;
UPDATE sec_m.checked SET v = v + 1 WHERE id = 3;
UPDATE sec_m.vchecked SET v = v + 1 WHERE id = 3;
UPDATE sec_m.indexed SET v = v + 1 WHERE id = 3;
RESET ROLE;
SELECT kind, CASE WHEN verdict = 'skipped' THEN reason ELSE 'replayed' END AS outcome, query
  FROM pgperf.try_index('CREATE INDEX ON sec_m.checked (v)', 1) WHERE query LIKE 'UPDATE%';
SELECT kind, CASE WHEN verdict = 'skipped' THEN reason ELSE 'replayed' END AS outcome, query
  FROM pgperf.try_index('CREATE INDEX ON sec_m.vchecked (v)', 1) WHERE query LIKE 'UPDATE%';
SELECT kind, CASE WHEN verdict = 'skipped' THEN reason ELSE 'replayed' END AS outcome, query
  FROM pgperf.try_index('CREATE INDEX ON sec_m.indexed (v)', 1) WHERE query LIKE 'UPDATE%';
SELECT sec_state();
SELECT count(*) AS rows_her_update_changed FROM sec_m.checked WHERE v <> id;

-- A role that does not have mallory's privileges does not get her
-- statements replayed; a pg_read_all_stats member sees them, skipped.
CREATE TABLE sec_reader_t (id int PRIMARY KEY, v int);
INSERT INTO sec_reader_t SELECT g, g FROM generate_series(1, 1000) g;
VACUUM ANALYZE sec_reader_t;
ALTER TABLE sec_reader_t OWNER TO regress_sec_reader;
GRANT SELECT ON sec_reader_t TO regress_sec_mallory;
GRANT EXECUTE ON FUNCTION pgperf.try_index(text, integer, boolean, boolean, boolean)
  TO regress_sec_reader;
GRANT CREATE ON SCHEMA public TO regress_sec_reader;
SET ROLE regress_sec_mallory;
SELECT count(*) FROM sec_reader_t WHERE v = sec_m.k(3);
SET ROLE regress_sec_reader;
SELECT verdict, reason, query
  FROM pgperf.try_index('CREATE INDEX ON sec_reader_t (v)', 1) WHERE query LIKE '%sec_m.k%';
RESET ROLE;
SELECT sec_state();
REVOKE CREATE ON SCHEMA public FROM regress_sec_reader;
REVOKE EXECUTE ON FUNCTION pgperf.try_index(text, integer, boolean, boolean, boolean)
  FROM regress_sec_reader;
DROP TABLE sec_reader_t;

-- 7. Side effects beyond the rollback: a DELETE whose ON DELETE CASCADE
-- reaches, through a second cascade, a table whose trigger advances a
-- sequence.
CREATE TABLE sec_parent (id int PRIMARY KEY, n int);
CREATE TABLE sec_child (id int PRIMARY KEY,
                        parent int REFERENCES sec_parent ON DELETE CASCADE);
CREATE TABLE sec_grandchild (id int PRIMARY KEY,
                             child int REFERENCES sec_child ON DELETE CASCADE);
CREATE SEQUENCE sec_audit_seq;
CREATE FUNCTION sec_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('sec_audit_seq');
  RETURN OLD;
END $$;
CREATE TRIGGER sec_audit BEFORE DELETE ON sec_grandchild
  FOR EACH ROW EXECUTE FUNCTION sec_audit();
INSERT INTO sec_parent SELECT g, g FROM generate_series(1, 50) g;
INSERT INTO sec_child SELECT g, g % 50 + 1 FROM generate_series(1, 200) g;
INSERT INTO sec_grandchild SELECT g, g % 200 + 1 FROM generate_series(1, 400) g;
BEGIN;
DELETE FROM sec_parent WHERE id = 3;
ROLLBACK;
SELECT setval('sec_audit_seq', 5);
SELECT verdict, reason, query
  FROM pgperf.try_index('CREATE INDEX ON sec_parent (n)', 1) WHERE query LIKE 'DELETE%';
SELECT last_value AS audit_seq FROM sec_audit_seq;
SELECT count(*) AS grandchildren FROM sec_grandchild;

-- 8. Windows.  Mallory's scratch work opens none: 100 CREATE INDEX on a
-- temporary table (each its own transaction), a temporary table with a
-- primary key, a new table with its constraints' indexes, DDL on a table
-- created in the same transaction.  The statistics of the windows before
-- are all still there (the test instance keeps only 10 windows).
SET pgperf.ddl_window_interval = '1min';	-- the production default
SELECT pgperf.mark('scratch') AS w_first \gset
SELECT count(*) AS entries_before FROM pgperf.statements WHERE window_id < :w_first \gset
SET ROLE regress_sec_mallory;
SET pgperf.ddl_window_interval = 0;			-- not hers to change
SET pgperf.ddl_windows = off;				-- nor this
CREATE TEMP TABLE sec_tmp (a int);
\set ECHO none
SELECT 'CREATE INDEX ON sec_tmp (a)' FROM generate_series(1, 100) \gexec
\set ECHO all
SELECT count(*) AS temp_indexes FROM pg_index WHERE indrelid = 'sec_tmp'::regclass;
CREATE TEMP TABLE sec_tmp_pk (id int PRIMARY KEY);
CREATE TABLE sec_m.fresh (id int PRIMARY KEY, v int UNIQUE);
BEGIN;
CREATE TABLE sec_m.fresh2 (id int, v int);
CREATE INDEX ON sec_m.fresh2 (v);
ALTER TABLE sec_m.fresh2 ADD PRIMARY KEY (id);
COMMIT;
DROP INDEX pg_temp.sec_tmp_a_idx;
DROP TABLE sec_tmp, sec_tmp_pk;
RESET ROLE;
SELECT max(window_id) - :w_first AS windows_opened FROM pgperf.windows;
SELECT count(*) = :entries_before AS earlier_statistics_kept
  FROM pgperf.statements WHERE window_id < :w_first;

-- A storm of DDL on a lasting table, each statement its own transaction:
-- one window, whose detail counts the rest.
SELECT pgperf.mark('before the storm') IS NOT NULL AS marked;
SET ROLE regress_sec_mallory;
\set ECHO none
SELECT 'CREATE INDEX sec_storm_' || g || ' ON sec_m.fresh (v)' FROM generate_series(1, 20) g \gexec
\set ECHO all
SELECT reason, detail FROM pgperf.windows WHERE window_id > :w_first ORDER BY window_id;
RESET ROLE;

-- 9. DDL text.  The superuser's DDL (with its constant) is hidden from
-- mallory in pgperf.windows and in report(); her own is not; a
-- pg_read_all_stats member sees both.
SELECT pgperf.mark('before the secret') AS w_secret_before \gset
CREATE INDEX sec_secret ON sec_orders (cust) WHERE cust <> 31337;
SELECT max(window_id) AS w_secret FROM pgperf.windows \gset
SELECT pgperf.mark('before hers') IS NOT NULL AS marked;
SET ROLE regress_sec_mallory;
CREATE INDEX sec_hers ON sec_m.fresh (id) WHERE id <> 4242;
SELECT max(window_id) AS w_hers FROM pgperf.windows \gset
SELECT window_id - :w_secret AS w, reason, detail FROM pgperf.windows
 WHERE window_id IN (:w_secret, :w_hers) ORDER BY window_id;
SELECT pgperf.report(:w_secret_before, :w_secret) LIKE '%31337%' AS report_shows_secret,
       pgperf.report(:w_secret_before, :w_secret) LIKE '%ddl: <insufficient privilege>%' AS report_hides_it;
SET ROLE regress_sec_reader;
SELECT window_id - :w_secret AS w, reason, detail FROM pgperf.windows
 WHERE window_id IN (:w_secret, :w_hers) ORDER BY window_id;
SELECT pgperf.report(:w_secret_before, :w_secret) LIKE '%31337%' AS report_shows_secret;
RESET ROLE;
DROP INDEX sec_secret;

-- The window's author is the role that ran the DDL, not the one current at
-- COMMIT: the superuser's DDL committed after SET ROLE stays hidden from
-- mallory, and so does the constant in it.
SELECT pgperf.mark('before the second secret') IS NOT NULL AS marked;
BEGIN;
CREATE INDEX sec_secret2 ON sec_orders (cust) WHERE cust <> 27182;
SET ROLE regress_sec_mallory;
COMMIT;
SELECT reason, detail FROM pgperf.windows
 WHERE window_id = (SELECT max(window_id) FROM pgperf.windows);
RESET ROLE;
DROP INDEX sec_secret2;

-- 10. A prepared transaction's DDL opens its window at COMMIT PREPARED, not
-- before; a rolled-back one opens none.
SELECT pgperf.mark('before 2pc') AS w_2pc \gset
BEGIN;
CREATE INDEX sec_2pc ON sec_orders (cust, id);
PREPARE TRANSACTION 'sec_2pc';
SELECT count(*) AS windows_at_prepare FROM pgperf.windows WHERE window_id > :w_2pc;
COMMIT PREPARED 'sec_2pc';
SELECT reason, detail FROM pgperf.windows WHERE window_id > :w_2pc ORDER BY window_id;
SELECT pgperf.mark('before 2pc rollback') AS w_2pc \gset
BEGIN;
DROP INDEX sec_2pc;
PREPARE TRANSACTION 'sec_2pc_rollback';
ROLLBACK PREPARED 'sec_2pc_rollback';
SELECT count(*) AS windows_after_rollback FROM pgperf.windows WHERE window_id > :w_2pc;
DROP INDEX sec_2pc;

-- 11. The time budget bounds every run: 300 runs of a statement of tens of
-- milliseconds, with a budget of one second, stop once 40% of it is spent
-- (the runs without the index), not after 300 runs.
SELECT count(*) FROM sec_orders a, sec_orders b WHERE a.cust + b.id = -1;
SET pgperf.trial_time_budget = 1000;
SELECT verdict,
       reason ~ '^not measured without the index: pgperf.trial_time_budget was spent \(after [0-9]+ of 300 runs\)$'
         AS stopped_by_budget
  FROM pgperf.try_index('CREATE INDEX ON sec_orders (cust)', 300)
 WHERE query LIKE '%a.cust + b.id%';
RESET pgperf.trial_time_budget;

SELECT sec_state();

-- 12. A statement that fails inside another role's SECURITY DEFINER function
-- (the superuser's audit trigger, here) is mallory's: its text, sample and
-- parameter are filed under her, not under the function's owner, so the
-- owner does not read them and a trial never replays them as the owner.  The
-- failure's sample keeps the search_path it ran with.
CREATE TABLE sec_log (note text);
GRANT INSERT ON sec_log TO regress_sec_mallory;
CREATE FUNCTION sec_log_full() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN RAISE EXCEPTION 'the log is full'; END $$;
CREATE TRIGGER sec_log_full BEFORE INSERT ON sec_log FOR EACH ROW EXECUTE FUNCTION sec_log_full();
SET ROLE regress_sec_mallory;
SET search_path = public, sec_m;
PREPARE sec_ins(text) AS INSERT INTO sec_log VALUES ($1);
EXECUTE sec_ins('mallory-secret-42');
RESET search_path;
DEALLOCATE sec_ins;
RESET ROLE;
SELECT s.userid::regrole AS filed_under, s.failed_calls, p.sample_params, p.sample_search_path
  FROM pgperf.statements s
  JOIN pgperf.plans p USING (userid, dbid, queryid, planid)
 WHERE s.query LIKE 'PREPARE sec_ins%';

-- 13. A trigger that reads pgperf's statistics does not make the statement
-- that fired it "pgperf's own": that INSERT stays in compare() and report().
CREATE TABLE sec_counted (n int);
CREATE FUNCTION sec_peek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM 1 FROM pgperf.info; RETURN NEW; END $$;
CREATE TRIGGER sec_peek BEFORE INSERT ON sec_counted FOR EACH ROW EXECUTE FUNCTION sec_peek();
SELECT pgperf.mark('sec peek') IS NOT NULL AS marked;
INSERT INTO sec_counted VALUES (1);
INSERT INTO sec_counted VALUES (2);
SELECT count(*) AS insert_compared FROM pgperf.compare() WHERE query LIKE 'INSERT INTO sec_counted%';

SET client_min_messages = warning;
DROP TABLE sec_log, sec_counted;
DROP FUNCTION sec_log_full(), sec_peek();
DROP SCHEMA sec_m CASCADE;
DROP TABLE sec_parent, sec_child, sec_grandchild, sec_orders;
DROP FUNCTION sec_audit(), sec_state();
DROP SEQUENCE sec_audit_seq, sec_witness;
DROP ROLE regress_sec_mallory, regress_sec_reader;
