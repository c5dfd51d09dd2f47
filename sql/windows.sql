--
-- Windows: mark(), windows opened by index and statistics DDL at commit, the
-- windows view, and attribution of executions to windows.
--
SET pgperf.track = top;
CREATE TABLE win (id int PRIMARY KEY, v int);
INSERT INTO win SELECT g, g FROM generate_series(1, 1000) g;
ANALYZE win;

-- a full reset starts a new window history with one open window
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT count(*) AS windows, bool_and(ended_at IS NULL) AS open, min(reason) AS reason
  FROM pgperf.windows;
SELECT max(window_id) AS w0 FROM pgperf.windows \gset
SELECT current_window = :w0 AS is_current FROM pgperf.info;

-- executions count in the window current when they start
SELECT v FROM win WHERE id = 1;
SELECT pgperf.mark('second') - :w0 AS step;
SELECT v FROM win WHERE id = 2;
SELECT v FROM win WHERE id = 3;
SELECT window_id - :w0 AS w, calls FROM pgperf.statements
 WHERE query = 'SELECT v FROM win WHERE id = $1' ORDER BY 1;
SELECT window_id - :w0 AS w, label, reason, ended_at IS NOT NULL AS closed,
       started_at <= coalesce(ended_at, now()) AS ordered
  FROM pgperf.windows ORDER BY window_id;
-- labels are optional; unlabelled marks work too
SELECT pgperf.mark() - :w0 AS step;

-- index and statistics DDL opens a window when it commits, with the statement
CREATE INDEX win_v ON win (v);
SELECT window_id - :w0 AS w, reason, detail FROM pgperf.windows ORDER BY window_id DESC LIMIT 1;
-- rolled back: nothing
BEGIN;
DROP INDEX win_v;
ROLLBACK;
-- a rolled-back savepoint is forgotten; the transaction's commit opens one window
BEGIN;
SAVEPOINT s1;
CREATE INDEX win_a ON win (v, id);
ROLLBACK TO s1;
CREATE STATISTICS win_st ON id, v FROM win;
COMMIT;
BEGIN;
SAVEPOINT s2;
CREATE INDEX win_b ON win (id, v);
RELEASE s2;
ALTER TABLE win ALTER COLUMN v SET STATISTICS 200;
COMMIT;
SELECT window_id - :w0 AS w, reason, detail FROM pgperf.windows
 WHERE window_id > :w0 + 2 ORDER BY window_id;

-- each of these opens a window ...
SELECT max(window_id) AS w1 FROM pgperf.windows \gset
REINDEX INDEX win_v;
ALTER INDEX win_b RENAME TO win_c;
DROP STATISTICS win_st;
CLUSTER win USING win_pkey;
VACUUM FULL win;
DO $$ BEGIN EXECUTE 'CREATE INDEX win_d ON win (v DESC)'; END $$;
CREATE INDEX CONCURRENTLY win_e ON win (id DESC);
DROP INDEX CONCURRENTLY win_e;
-- ... these do not
CREATE TABLE win2 (x int);
CREATE VIEW win_view AS SELECT * FROM win2;
ALTER VIEW win_view ALTER COLUMN x SET DEFAULT 1;
DROP VIEW win_view;
VACUUM win;
SET pgperf.ddl_windows = off;
DROP INDEX win_c;
RESET pgperf.ddl_windows;
SELECT window_id - :w1 AS w, reason, detail FROM pgperf.windows
 WHERE window_id > :w1 ORDER BY window_id;

-- a manual ANALYZE (or VACUUM with ANALYZE) opens a window at commit, with
-- reason analyze and the statement; not on a temporary table or a table
-- created in the same transaction, not when rolled back
SELECT max(window_id) AS w2 FROM pgperf.windows \gset
ANALYZE win;
VACUUM (ANALYZE) win (v);
VACUUM win;
CREATE TEMP TABLE win_tmp (x int);
ANALYZE win_tmp;
BEGIN;
CREATE TABLE win3 (x int);
ANALYZE win3;
COMMIT;
BEGIN;
ANALYZE win;
ROLLBACK;
-- a planner or executor setting of a database or a role opens a window at
-- commit, with reason settings and the statement; other settings, a
-- session's SET and a rolled-back ALTER do not
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET random_page_cost = 1.1;
ALTER DATABASE :"db" RESET random_page_cost;
CREATE ROLE win_setter;
ALTER ROLE win_setter SET enable_seqscan = off;
ALTER ROLE win_setter IN DATABASE :"db" SET work_mem = '64MB';
ALTER ROLE win_setter SET application_name = 'app';
BEGIN;
ALTER ROLE win_setter SET jit = off;
ROLLBACK;
SET random_page_cost = 2;
RESET random_page_cost;
DROP ROLE win_setter;
SELECT window_id - :w2 AS w, reason, detail FROM pgperf.windows
 WHERE window_id > :w2 ORDER BY window_id;
-- within pgperf.ddl_window_interval of a change's window, DDL, ANALYZE and
-- settings join it, as the steps of a migration
SET pgperf.ddl_window_interval = '1min';
SELECT pgperf.mark('migration') AS w3 \gset
CREATE INDEX win_f ON win (v, id);
ANALYZE win;
ALTER DATABASE :"db" SET random_page_cost = 1.1;
ALTER DATABASE :"db" RESET random_page_cost;
SELECT window_id - :w3 AS w, reason, detail FROM pgperf.windows
 WHERE window_id > :w3 ORDER BY window_id;
RESET pgperf.ddl_window_interval;

-- only superusers may stop DDL from opening windows
CREATE ROLE win_user;
SET ROLE win_user;
SET pgperf.ddl_windows = off;
RESET ROLE;
DROP ROLE win_user;

-- labels: not empty, not too long; a later window may reuse a label
SELECT pgperf.mark('');
SELECT pgperf.mark(repeat('x', 64));
SELECT pgperf.mark(repeat('x', 63)) > 0 AS ok;

-- at most pgperf.max_windows (10 in the test instance) are kept: the oldest
-- go, with their statistics
SELECT v FROM win WHERE id = 4;
SELECT window_id AS w_old FROM pgperf.statements WHERE query = 'SELECT v FROM win WHERE id = $1'
 ORDER BY window_id LIMIT 1 \gset
SELECT windows_dropped AS dropped0 FROM pgperf.info \gset
SELECT count(pgperf.mark('m' || g)) FROM generate_series(1, 12) g;
SELECT windows, windows_dropped > :dropped0 AS dropped FROM pgperf.info;
SELECT count(*) AS old_entries FROM pgperf.statements WHERE window_id <= :w_old;
SELECT count(*) AS kept FROM pgperf.windows;

DROP TABLE win, win2, win3;
