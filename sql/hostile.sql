--
-- Hostile input: every SQL function of pgperf called with NULLs, empty and
-- very long strings, out-of-range numbers, unknown windows and labels,
-- malformed baselines, and plan_shape() with statements that try to run more
-- than one planable statement.  Each call must end in a clear error with its
-- own SQLSTATE (never XX000, an elog() where an ereport() belongs), or give
-- the result the README documents; and the failed calls must change nothing:
-- the windows, pgperf's entries and the test's tables are the same after.
--
SET pgperf.track = top;
CREATE TABLE hostile_t (id int PRIMARY KEY, v text);
INSERT INTO hostile_t SELECT g, 'v' || g FROM generate_series(1, 100) g;
CREATE SEQUENCE hostile_s;
SELECT nextval('hostile_s');

-- a known history: the reset window w0, then w1 'hostile_a' and w2 'hostile_b'
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT set_config('hostile.base', max(window_id)::text, false) IS NOT NULL AS t FROM pgperf.windows;
SELECT v FROM hostile_t WHERE id = 1;
SELECT pgperf.mark('hostile_a') - current_setting('hostile.base')::int AS w;
SELECT v FROM hostile_t WHERE id = 2;
SELECT pgperf.mark('hostile_b') - current_setting('hostile.base')::int AS w;
SELECT v FROM hostile_t WHERE id = 3;
SELECT set_config('hostile.qid', queryid::text, false) IS NOT NULL AS t
  FROM pgperf.statements WHERE query = 'SELECT v FROM hostile_t WHERE id = $1' LIMIT 1;

-- try(q): runs q, a query of one column; returns "ok: " and its value (one
-- row) or its number of rows, or "SQLSTATE: message".  In q, {w0}..{w9} are
-- windows counted from the reset window w0, {w-1} the window the reset
-- dropped, {qid} the queryid of the statement above; in messages, window
-- ids show as w-1..w9 again.  Values and messages are cut at 100
-- characters: some quote a whole 1 MB argument.
CREATE FUNCTION pg_temp.try(q text) RETURNS text
LANGUAGE plpgsql SET client_min_messages = warning AS $$
DECLARE
  base int := current_setting('hostile.base')::int;
  n bigint;
  val text;
  res text;
  state text;
BEGIN
  FOR k IN -1..9 LOOP
    q := replace(q, '{w' || k || '}', (base + k)::text);
  END LOOP;
  q := replace(q, '{qid}', current_setting('hostile.qid'));
  BEGIN
    EXECUTE 'SELECT count(*), min(x::text) FROM (' || q || ') AS r(x)' INTO n, val;
    IF n <> 1 THEN
      RETURN 'ok: ' || n || ' rows';
    END IF;
    res := coalesce(replace(val, E'\n', ' | '), 'NULL');
  EXCEPTION WHEN OTHERS THEN
    state := SQLSTATE;
    res := SQLERRM;
  END;
  FOR k IN REVERSE 9..-1 LOOP
    IF state IS NOT NULL AND base + k > 0 THEN
      res := regexp_replace(res, '(?<![-0-9.])' || (base + k) || '(?![0-9]|\.[0-9])', 'w' || k, 'g');
    END IF;
  END LOOP;
  IF length(res) > 100 THEN
    res := left(res, 100) || '... (' || length(res) || ' characters)';
  END IF;
  RETURN CASE WHEN state IS NULL THEN 'ok: '
              WHEN state = 'XX000' THEN 'XX000 (INTERNAL ERROR: A BUG): '
              ELSE state || ': ' END || res;
END $$;

-- the state before
CREATE TEMP TABLE before_windows AS SELECT * FROM pgperf.windows;
CREATE TEMP TABLE before_stmts AS
  SELECT window_id, userid, dbid, toplevel, queryid, planid, query, calls, rows, failed_calls
    FROM pgperf.statements;
CREATE TEMP TABLE before_info AS
  SELECT entries, plans, queries, evictions, current_window, windows, windows_dropped,
         texts_dropped, stats_since FROM pgperf.info;
CREATE TEMP TABLE before_data AS
  SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM hostile_t t) AS rows_md5,
         (SELECT last_value FROM hostile_s) AS seq;

-- the capture views' functions: showtext must be a boolean
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT queryid FROM pgperf.get_statements(NULL)$$),
  ($$SELECT queryid FROM pgperf.get_statements('')$$),
  ($$SELECT queryid FROM pgperf.get_plans(NULL)$$),
  ($$SELECT queryid FROM pgperf.get_plans('maybe')$$),
  ($$SELECT current_window - {w0} FROM pgperf.get_info()$$),
  ($$SELECT * FROM pgperf.get_info(NULL)$$),
  ($$SELECT count(*) FROM pgperf.get_windows()$$),
  ($$SELECT * FROM pgperf.get_windows(1)$$),
  ($$SELECT count(*) FROM pgperf.get_plan_changes()$$),
  ($$SELECT * FROM pgperf.get_plan_changes(NULL)$$)) AS t(q);

-- reset: NULL is not "any" (0 is); filters that match nothing remove nothing
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT pgperf.reset(NULL)$$),
  ($$SELECT pgperf.reset(0, NULL)$$),
  ($$SELECT pgperf.reset(0, 0, NULL)$$),
  ($$SELECT pgperf.reset(NULL, NULL, NULL)$$),
  ($$SELECT pgperf.reset('')$$),
  ($$SELECT pgperf.reset(-1) IS NOT NULL$$),
  ($$SELECT pgperf.reset(0, 0, 'x')$$),
  ($$SELECT pgperf.reset(0, 0, 9223372036854775808)$$),
  ($$SELECT pgperf.reset(4294967295, 0, 0) IS NOT NULL$$),
  ($$SELECT pgperf.reset(0, 4294967295, 0) IS NOT NULL$$),
  ($$SELECT pgperf.reset(0, 0, -9223372036854775808) IS NOT NULL$$),
  ($$SELECT pgperf.reset(0, 0, 9223372036854775807) IS NOT NULL$$),
  ($$SELECT pgperf.reset(0, 0, -1) IS NOT NULL$$)) AS t(q);

-- mark: a label is NULL or 1 to 63 bytes
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT pgperf.mark('')$$),
  ($$SELECT pgperf.mark(repeat('x', 64))$$),
  ($$SELECT pgperf.mark(repeat('é', 32))$$),
  ($$SELECT pgperf.mark(repeat('x', 1000000))$$),
  ($$SELECT pgperf.mark('a', 'b')$$)) AS t(q);

-- compare and report by window id: ids that are not kept, a window with itself
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT queryid FROM pgperf.compare(0, NULL)$$),
  ($$SELECT queryid FROM pgperf.compare(NULL, 0)$$),
  ($$SELECT queryid FROM pgperf.compare(-1, NULL)$$),
  ($$SELECT queryid FROM pgperf.compare(NULL, -1)$$),
  ($$SELECT queryid FROM pgperf.compare(2147483647, NULL)$$),
  ($$SELECT queryid FROM pgperf.compare(-2147483648, 2147483647)$$),
  ($$SELECT queryid FROM pgperf.compare(2147483648, NULL)$$),
  ($$SELECT queryid FROM pgperf.compare({w-1}, NULL)$$),
  ($$SELECT queryid FROM pgperf.compare({w1}, {w1})$$),
  ($$SELECT queryid FROM pgperf.compare({w2}, NULL)$$),
  ($$SELECT queryid FROM pgperf.compare(NULL, {w0})$$),
  ($$SELECT queryid FROM pgperf.compare({w3}, {w1})$$),
  ($$SELECT pgperf.report(0, NULL)$$),
  ($$SELECT pgperf.report(NULL, -2147483648)$$),
  ($$SELECT pgperf.report({w-1}, {w2})$$),
  ($$SELECT pgperf.report({w2}, {w2})$$),
  ($$SELECT pgperf.report(NULL, {w0})$$)) AS t(q);

-- compare and report by label: unknown, empty, longer than any label can be
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT queryid FROM pgperf.compare('no such label', 'hostile_b')$$),
  ($$SELECT queryid FROM pgperf.compare('hostile_a', 'no such label')$$),
  ($$SELECT queryid FROM pgperf.compare('', 'hostile_b')$$),
  ($$SELECT queryid FROM pgperf.compare('hostile_a', '')$$),
  ($$SELECT queryid FROM pgperf.compare('', '')$$),
  ($$SELECT queryid FROM pgperf.compare('HOSTILE_A', 'hostile_b')$$),
  ($$SELECT queryid FROM pgperf.compare('hostile_a ', 'hostile_b')$$),
  ($$SELECT queryid FROM pgperf.compare(repeat('x', 64), 'hostile_b')$$),
  ($$SELECT queryid FROM pgperf.compare('hostile_a', repeat('x', 1000000))$$),
  ($$SELECT queryid FROM pgperf.compare('hostile_b', 'hostile_b')$$),
  ($$SELECT count(*) FROM pgperf.compare(NULL::text, 'hostile_a')$$),
  ($$SELECT pgperf.report('no such label', NULL)$$),
  ($$SELECT pgperf.report('', 'hostile_b')$$),
  ($$SELECT pgperf.report(repeat('x', 1000000), 'hostile_b')$$),
  ($$SELECT pgperf.report('hostile_a', 'hostile_a')$$)) AS t(q);

-- plan_diff: a queryid that did not run, windows not kept
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT pgperf.plan_diff(NULL)$$),
  ($$SELECT pgperf.plan_diff(NULL, {w1}, {w2})$$),
  ($$SELECT pgperf.plan_diff(0)$$),
  ($$SELECT pgperf.plan_diff(-1, {w1}, {w2})$$),
  ($$SELECT pgperf.plan_diff(-9223372036854775808)$$),
  ($$SELECT pgperf.plan_diff(9223372036854775807)$$),
  ($$SELECT pgperf.plan_diff({qid}, 0, NULL)$$),
  ($$SELECT pgperf.plan_diff({qid}, NULL, -1)$$),
  ($$SELECT pgperf.plan_diff({qid}, {w-1}, {w2})$$),
  ($$SELECT pgperf.plan_diff({qid}, 2147483647, NULL)$$),
  ($$SELECT pgperf.plan_diff({qid}, {w2}, {w2})$$),
  ($$SELECT pgperf.plan_diff({qid}, NULL, {w0})$$),
  ($$SELECT pgperf.plan_diff({qid}, '', NULL)$$)) AS t(q);

-- plan_shape: exactly one planable statement, or an error and nothing run
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT pgperf.plan_shape(NULL)$$),
  ($$SELECT pgperf.plan_shape(NULL, true)$$),
  ($$SELECT pgperf.plan_shape('SELECT 1', NULL)$$),
  ($$SELECT pgperf.plan_shape('')$$),
  ($$SELECT pgperf.plan_shape('   ')$$),
  ($$SELECT pgperf.plan_shape(';')$$),
  ($$SELECT pgperf.plan_shape('-- only a comment')$$),
  ($$SELECT pgperf.plan_shape('SELECT 1;')$$),
  ($$SELECT pgperf.plan_shape(';;SELECT 1;;')$$),
  -- more than one statement
  ($$SELECT pgperf.plan_shape('SELECT 1; DELETE FROM hostile_t')$$),
  ($$SELECT pgperf.plan_shape('DELETE FROM hostile_t; SELECT 1')$$),
  ($$SELECT pgperf.plan_shape('SELECT 1; SELECT 2; SELECT 3')$$),
  ($$SELECT pgperf.plan_shape('SELECT 1;' || repeat(' SELECT 1;', 10000))$$),
  -- comments and quotes that hide, or do not hide, a second statement
  ($$SELECT pgperf.plan_shape('SELECT 1 -- ; DROP TABLE hostile_t')$$),
  ($$SELECT pgperf.plan_shape(E'SELECT 1 -- \n; DROP TABLE hostile_t')$$),
  ($$SELECT pgperf.plan_shape('SELECT 1 /* ; DROP TABLE hostile_t */')$$),
  ($$SELECT pgperf.plan_shape('/* /* nested */ ; DROP TABLE hostile_t; */ SELECT 1')$$),
  ($$SELECT pgperf.plan_shape('/* /* nested */ */ SELECT 1; DROP TABLE hostile_t')$$),
  ($$SELECT pgperf.plan_shape('SELECT '';DROP TABLE hostile_t''')$$),
  ($$SELECT pgperf.plan_shape('SELECT $x$;DROP TABLE hostile_t$x$')$$),
  ($$SELECT pgperf.plan_shape('SELECT ''a\''; DROP TABLE hostile_t; --''')$$),
  ($$SELECT pgperf.plan_shape(E'SELECT E''\\''; DROP TABLE hostile_t; --''')$$),
  ($$SELECT pgperf.plan_shape('SELECT 1 \; DROP TABLE hostile_t')$$),
  -- utility statements have no plan
  ($$SELECT pgperf.plan_shape('DROP TABLE hostile_t')$$),
  ($$SELECT pgperf.plan_shape('TRUNCATE hostile_t')$$),
  ($$SELECT pgperf.plan_shape('EXPLAIN ANALYZE DELETE FROM hostile_t')$$),
  ($$SELECT pgperf.plan_shape('CREATE TABLE hostile_new AS SELECT 1')$$),
  ($$SELECT pgperf.plan_shape('COPY hostile_t TO STDOUT')$$),
  ($$SELECT pgperf.plan_shape('DO $d$ BEGIN DELETE FROM hostile_t; END $d$')$$),
  ($$SELECT pgperf.plan_shape('CALL no_such_procedure()')$$),
  ($$SELECT pgperf.plan_shape('PREPARE p AS DELETE FROM hostile_t')$$),
  ($$SELECT pgperf.plan_shape('DECLARE c CURSOR FOR SELECT 1')$$),
  ($$SELECT pgperf.plan_shape('BEGIN')$$),
  ($$SELECT pgperf.plan_shape('SET search_path = nowhere')$$),
  ($$SELECT pgperf.plan_shape('VACUUM hostile_t')$$),
  -- planned, not run: writes, state-changing functions, sequences, SELECT INTO
  ($$SELECT pgperf.plan_shape('DELETE FROM hostile_t', true)$$),
  ($$SELECT pgperf.plan_shape('WITH d AS (DELETE FROM hostile_t RETURNING *) SELECT count(*) FROM d', true)$$),
  ($$SELECT pgperf.plan_shape('INSERT INTO hostile_t VALUES (0, ''x'')')$$),
  ($$SELECT pgperf.plan_shape('SELECT nextval(''hostile_s'')')$$),
  ($$SELECT pgperf.plan_shape('SELECT pgperf.mark(''sneaky'')')$$),
  ($$SELECT pgperf.plan_shape('SELECT pgperf.reset()')$$),
  ($$SELECT pgperf.plan_shape('SELECT 1 INTO hostile_new')$$),
  -- syntax and semantic errors
  ($$SELECT pgperf.plan_shape('SELEC 1')$$),
  ($$SELECT pgperf.plan_shape('SELECT (1')$$),
  ($$SELECT pgperf.plan_shape('SELECT ''unterminated')$$),
  ($$SELECT pgperf.plan_shape('SELECT 1 /* unterminated')$$),
  ($$SELECT pgperf.plan_shape('SELECT $1')$$),
  ($$SELECT pgperf.plan_shape('SELECT * FROM no_such_table')$$),
  ($$SELECT pgperf.plan_shape('SELECT no_such_column FROM hostile_t')$$),
  ($$SELECT pgperf.plan_shape(E'SELECT \'\\xff\'::bytea::text::int')$$),
  -- very long statements
  ($$SELECT pgperf.plan_shape(repeat('x', 1000000))$$),
  ($$SELECT pgperf.plan_shape('/*' || repeat('x', 1000000) || '*/ SELECT 1')$$),
  ($$SELECT pgperf.plan_shape('SELECT ' || repeat('(', 100000) || '1' || repeat(')', 100000))$$),
  ($$SELECT pgperf.plan_shape('SELECT 1 FROM hostile_t WHERE v IN (' || repeat('''a'',', 100000) || '''a'')', true)$$)
  ) AS t(q);

-- baseline(current_window_only): NULL is false
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT jsonb_typeof(pgperf.baseline())$$),
  ($$SELECT jsonb_typeof(pgperf.baseline(true))$$),
  ($$SELECT pgperf.baseline(NULL) = pgperf.baseline(false)$$),
  ($$SELECT pgperf.baseline('x')$$),
  ($$SELECT pgperf.baseline(true, true)$$)) AS t(q);

-- check_baseline(arguments): a baseline and a tolerance; for a valid one, the
-- number of its statements missing from this run
SELECT args, pg_temp.try('SELECT count(*) FROM pgperf.check_baseline(' || args || ') WHERE problem = ''missing''') AS result
  FROM (VALUES
  ($$NULL$$),
  ($$NULL, NULL$$),
  ($$pgperf.baseline(), NULL$$),
  ($$pgperf.baseline(), -0.01$$),
  ($$pgperf.baseline(), 'NaN'$$),
  ($$pgperf.baseline(), 'Infinity'$$),
  ($$pgperf.baseline(), '-Infinity'$$),
  ($$pgperf.baseline(), 1e308$$),
  ($$pgperf.baseline(), 0$$),
  -- min_blocks, latency_tolerance, current_window_only
  ($$pgperf.baseline(), 0.25, NULL$$),
  ($$pgperf.baseline(), 0.25, -1$$),
  ($$pgperf.baseline(), 0.25, 'NaN'$$),
  ($$pgperf.baseline(), 0.25, 'Infinity'$$),
  ($$pgperf.baseline(), 0.25, 0$$),
  ($$pgperf.baseline(), 0.25, 10, NULL$$),
  ($$pgperf.baseline(), 0.25, 10, -0.5$$),
  ($$pgperf.baseline(), 0.25, 10, 'NaN'$$),
  ($$pgperf.baseline(), 0.25, 10, 'Infinity'$$),
  ($$pgperf.baseline(), 0.25, 10, 0$$),
  ($$pgperf.baseline(), 0.25, 10, 0.5, NULL$$),
  ($$pgperf.baseline(true), 0.25, 10, 0.5, true$$),
  -- not JSON, or not a baseline
  ($$''$$),
  ($$'{"pgperf_baseline": 1,'$$),
  ($$'null'$$),
  ($$'1'$$),
  ($$'"a baseline"'$$),
  ($$'[]'$$),
  ($$'{}'$$),
  ($$'{"statements": []}'$$),
  ($$'{"pgperf_baseline": 2, "statements": []}'$$),
  ($$'{"pgperf_baseline": "1", "statements": []}'$$),
  ($$'{"pgperf_baseline": 1.0000001, "statements": []}'$$),
  ($$'{"pgperf_baseline": 1}'$$),
  ($$'{"pgperf_baseline": 1, "statements": null}'$$),
  ($$'{"pgperf_baseline": 1, "statements": {}}'$$),
  ($$'{"pgperf_baseline": 1, "statements": "[]"}'$$),
  -- statements of the wrong shape or types
  ($$'{"pgperf_baseline": 1, "statements": [1]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [null]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [[]]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{}]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{"query": 1, "planids": [], "calls": 1, "blks_per_call": 1}]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{"query": "q", "planids": "1", "calls": 1, "blks_per_call": 1}]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{"query": "q", "planids": [], "calls": "1", "blks_per_call": 1}]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{"query": "q", "planids": [], "calls": 1, "blks_per_call": null}]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{"query": "q", "planids": [], "calls": 1}]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{"query": "q", "planids": [], "calls": 1, "blks_per_call": 1, "p95_ms": "1"}]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{"query": "q", "planids": [], "calls": 1, "blks_per_call": 1}, 2]}'$$),
  ($$repeat('[', 100000)::jsonb$$),
  ($$('{"pgperf_baseline": 1, "statements": [{"query": "q", "planids": [], "calls": 1e' || 200000 || ', "blks_per_call": 1}]}')::jsonb$$),
  -- well formed, if odd
  ($$'{"pgperf_baseline": 1, "statements": [{"query": "", "planids": [[1], {"a": null}], "calls": -1, "blks_per_call": -1e100, "x": 1}]}'$$),
  ($$'{"pgperf_baseline": 1, "statements": [{"query": "q", "planids": [], "calls": 1, "blks_per_call": 1}, {"query": "q", "planids": [], "calls": 1, "blks_per_call": 1}]}'$$),
  -- huge: a 1 MB text, 100000 statements, 1000000 planids
  ($$jsonb_build_object('pgperf_baseline', 1, 'statements', jsonb_build_array(jsonb_build_object('query', repeat('x', 1000000), 'planids', '[]'::jsonb, 'calls', 1, 'blks_per_call', 1)))$$),
  ($$(SELECT jsonb_build_object('pgperf_baseline', 1, 'statements', jsonb_agg(jsonb_build_object('query', 'q' || g, 'planids', '[]'::jsonb, 'calls', g, 'blks_per_call', 1))) FROM generate_series(1, 100000) g)$$),
  ($$jsonb_build_object('pgperf_baseline', 1, 'statements', jsonb_build_array(jsonb_build_object('query', 'q', 'planids', (SELECT jsonb_agg(g) FROM generate_series(1, 1000000) g), 'calls', 1, 'blks_per_call', 1)))$$)
  ) AS t(args);

-- nothing changed: the windows, the entries (but for this test's own
-- top-level statements), the tables, the sequence; SELECT INTO made nothing
SELECT (SELECT count(*) FROM pgperf.windows) AS windows,
       (SELECT count(*) FROM ((SELECT * FROM pgperf.windows EXCEPT SELECT * FROM before_windows)
                             UNION ALL
                             (SELECT * FROM before_windows EXCEPT SELECT * FROM pgperf.windows)) d) AS windows_differ,
       (SELECT array_agg(label ORDER BY window_id) FROM pgperf.windows) AS labels;
WITH now_stmts AS (
  SELECT window_id, userid, dbid, toplevel, queryid, planid, query, calls, rows, failed_calls
    FROM pgperf.statements
)
SELECT (SELECT count(*) FROM (SELECT * FROM before_stmts EXCEPT SELECT * FROM now_stmts) g
         WHERE query NOT LIKE '%pg_temp.try%' AND query NOT LIKE '%pgperf.%') AS entries_changed_or_gone,
       (SELECT count(*) FROM (SELECT * FROM now_stmts EXCEPT SELECT * FROM before_stmts) n
         WHERE query NOT LIKE '%pg_temp.try%' AND query NOT LIKE '%pgperf.%') AS foreign_new_entries,
       (SELECT count(*) FROM now_stmts WHERE failed_calls > 0) AS failed_entries,
       (SELECT i.entries - b.entries FROM pgperf.info i, before_info b)
         = (SELECT count(*) FROM (SELECT window_id, userid, dbid, toplevel, queryid, planid FROM now_stmts
                                  EXCEPT SELECT window_id, userid, dbid, toplevel, queryid, planid FROM before_stmts) n)
         AS entries_grew_by_own_only;
SELECT i.evictions = b.evictions AS evictions, i.current_window = b.current_window AS current_window,
       i.windows = b.windows AS windows, i.windows_dropped = b.windows_dropped AS windows_dropped,
       i.texts_dropped = b.texts_dropped AS texts_dropped, i.stats_since = b.stats_since AS stats_since
  FROM pgperf.info i, before_info b;
SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM hostile_t t) = b.rows_md5 AS same_rows,
       (SELECT last_value FROM hostile_s) = b.seq AS same_sequence,
       to_regclass('hostile_new') IS NULL AS no_hostile_new,
       (SELECT count(*) FROM pg_prepared_statements) AS prepared,
       (SELECT count(*) FROM pg_cursors) AS cursors,
       current_setting('search_path') AS search_path
  FROM before_data b;

-- where NULL means something (README): mark(NULL) opens an unlabelled window,
-- compare(NULL, NULL) and report(NULL, NULL) take the current window and the
-- one before it, by id or by label alike
SELECT pgperf.mark(NULL) - current_setting('hostile.base')::int AS w;
SELECT pgperf.mark() - current_setting('hostile.base')::int AS w;
SELECT window_id - current_setting('hostile.base')::int AS w, label, reason
  FROM pgperf.windows ORDER BY window_id;
SELECT v FROM hostile_t WHERE id = 4;
SELECT q, pg_temp.try(q) AS result FROM (VALUES
  ($$SELECT verdict FROM pgperf.compare() WHERE query LIKE '%hostile_t%'$$),
  ($$SELECT verdict FROM pgperf.compare(NULL, NULL) WHERE query LIKE '%hostile_t%'$$),
  ($$SELECT verdict FROM pgperf.compare(NULL::text, NULL::text) WHERE query LIKE '%hostile_t%'$$),
  ($$SELECT verdict FROM pgperf.compare(NULL, {w4}) WHERE query LIKE '%hostile_t%'$$),
  ($$SELECT verdict FROM pgperf.compare({w3}, NULL) WHERE query LIKE '%hostile_t%'$$),
  ($$SELECT verdict FROM pgperf.compare('hostile_b', NULL) WHERE query LIKE '%hostile_t%'$$),
  ($$SELECT verdict FROM pgperf.compare(NULL, 'hostile_b') WHERE query LIKE '%hostile_t%'$$),
  ($$SELECT pgperf.report() LIKE E'%\n  after:  window {w4} (manual, from %, still open)\n%'$$),
  ($$SELECT pgperf.report(NULL::text, NULL::text) LIKE E'%\n  after:  window {w4} (manual, from %, still open)\n%'$$),
  ($$SELECT pgperf.plan_diff({qid})$$)) AS t(q);

DROP TABLE hostile_t;
DROP SEQUENCE hostile_s;
