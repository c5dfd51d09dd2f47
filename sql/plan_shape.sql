--
-- plan_shape(sql): a statement's plan as stable text, for expected files.
--
CREATE TABLE ps (id int PRIMARY KEY, grp int, note text);
INSERT INTO ps SELECT g, g % 10, 'n' || g FROM generate_series(1, 10000) g;
VACUUM ANALYZE ps;

SELECT pgperf.plan_shape('SELECT note FROM ps WHERE id = 42');
SELECT pgperf.plan_shape('SELECT grp, count(*) FROM ps GROUP BY grp ORDER BY grp');
SELECT pgperf.plan_shape('SELECT grp, count(*) FROM ps GROUP BY grp ORDER BY grp', nodes_only => true);
SELECT pgperf.plan_shape('UPDATE ps SET note = note WHERE id = 1');
SELECT pgperf.plan_shape('WITH t AS (SELECT id FROM ps WHERE grp = 1) SELECT count(*) FROM t');
-- nothing ran: the UPDATE was only planned
SELECT count(*) FROM ps WHERE note = 'n1';

-- the planned number of parallel workers depends on the machine: left out
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT pgperf.plan_shape('SELECT count(*) FROM ps');
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
RESET max_parallel_workers_per_gather;

-- bad input: one planable statement, or a clear error and nothing run
\set VERBOSITY terse
SELECT pgperf.plan_shape(NULL);
SELECT pgperf.plan_shape('');
SELECT pgperf.plan_shape('SELECT 1; SELECT 2');
SELECT pgperf.plan_shape('SELECT 1; DROP TABLE ps');
SELECT pgperf.plan_shape('SELECT 1 /* ; */ ; DROP TABLE ps -- ;');
SELECT pgperf.plan_shape('DROP TABLE ps');
SELECT pgperf.plan_shape('SELEC 1');
SELECT pgperf.plan_shape('SELECT * FROM ps WHERE id = $1');
SELECT pgperf.plan_shape('SELECT note FROM ps WHERE id = 1', NULL);
\set VERBOSITY default
SELECT count(*) AS still_there FROM ps;
-- comments are fine
SELECT pgperf.plan_shape('/* a comment; with a semicolon */ SELECT note FROM ps WHERE id = 1 -- and ;');

-- the caller's privileges apply
CREATE ROLE ps_user;
SET ROLE ps_user;
SELECT pgperf.plan_shape('SELECT note FROM ps WHERE id = 1');
RESET ROLE;
DROP ROLE ps_user;
DROP TABLE ps;
