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
ANALYZE win;
VACUUM win;
SET pgperf.ddl_windows = off;
DROP INDEX win_c;
RESET pgperf.ddl_windows;
SELECT window_id - :w1 AS w, reason, detail FROM pgperf.windows
 WHERE window_id > :w1 ORDER BY window_id;

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

DROP TABLE win, win2;
