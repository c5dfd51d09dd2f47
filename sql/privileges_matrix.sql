--
-- Privileges as a matrix: four roles (the superuser running the test, a
-- pg_read_all_stats member, two ordinary roles) each own a table and run a
-- statement on it, whose plan changes when an index comes; then each role,
-- as viewer, looks at every role's statement through every way pgperf shows
-- one.  Texts, plans, samples and their parameters of other roles, and the
-- DDL text of the windows their CREATE INDEX opened, must be hidden from
-- ordinary roles (counters stay visible) and shown to the superuser and to
-- pg_read_all_stats.  Then who may call what: reset() and
-- mark() are not granted to PUBLIC (42501) until GRANT EXECUTE, and
-- plan_shape() plans with the caller's rights (42501 on a table the caller
-- may not read or write).  sql/privileges.sql covers the basics; this test
-- covers every combination.
--
SET pgperf.track = 'all';
SET pgperf.compare_min_calls = 2;
CREATE ROLE regress_pm_alice;
CREATE ROLE regress_pm_bob;
CREATE ROLE regress_pm_reader IN ROLE pg_read_all_stats;

-- who is who: a role, its label, its table, its parameter value, its queryid
CREATE TABLE pm_who (oid oid, rolname name, who text, tbl text, param text, qid bigint,
                     ddl_window int);
INSERT INTO pm_who
  SELECT r.oid, r.rolname, v.who, 'pm_' || v.who || '_t', v.who || '-param', NULL
    FROM (VALUES (current_user, 'super'), ('regress_pm_alice', 'alice'),
                 ('regress_pm_bob', 'bob'), ('regress_pm_reader', 'reader')) AS v(rolname, who)
    JOIN pg_roles r ON r.rolname = v.rolname;
GRANT SELECT ON pm_who TO PUBLIC;

-- each role's own table, big enough that the index changes the plan
DO $$
DECLARE
  w record;
BEGIN
  FOR w IN SELECT * FROM pm_who LOOP
    EXECUTE format('CREATE TABLE %I (id int, secret text, pad text)', w.tbl);
    EXECUTE format($q$INSERT INTO %I SELECT g, %L || g, repeat('p', 200)
                      FROM generate_series(1, 20000) g$q$, w.tbl, w.who || '-');
    EXECUTE format('ANALYZE %I', w.tbl);
    EXECUTE format('ALTER TABLE %I OWNER TO %I', w.tbl, w.oid::regrole);
  END LOOP;
END $$;

-- pm_run(): the current role runs its statement ten times, with its
-- parameter value (a PL/pgSQL variable is a parameter)
CREATE FUNCTION pm_run() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  w pm_who;
  n bigint;
BEGIN
  SELECT * INTO w FROM pm_who WHERE rolname = current_user;
  FOR i IN 1..10 LOOP
    EXECUTE format('SELECT count(*) FROM %I WHERE secret = $1', w.tbl) INTO n USING w.param;
  END LOOP;
END $$;

-- window 'pm_before': sequential scans; window 'pm_after': index scans
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT pgperf.mark('pm_before') IS NOT NULL AS t;
SELECT pm_run();
SET ROLE regress_pm_alice;
SELECT pm_run();
SET ROLE regress_pm_bob;
SELECT pm_run();
SET ROLE regress_pm_reader;
SELECT pm_run();
RESET ROLE;
-- each role creates its own table's index: one DDL window each, noted
GRANT CREATE ON SCHEMA public TO regress_pm_alice, regress_pm_bob, regress_pm_reader;
CREATE INDEX pm_super_i ON pm_super_t (secret);
UPDATE pm_who SET ddl_window = (SELECT max(window_id) FROM pgperf.windows) WHERE who = 'super';
SET ROLE regress_pm_alice;
CREATE INDEX pm_alice_i ON pm_alice_t (secret);
RESET ROLE;
UPDATE pm_who SET ddl_window = (SELECT max(window_id) FROM pgperf.windows) WHERE who = 'alice';
SET ROLE regress_pm_bob;
CREATE INDEX pm_bob_i ON pm_bob_t (secret);
RESET ROLE;
UPDATE pm_who SET ddl_window = (SELECT max(window_id) FROM pgperf.windows) WHERE who = 'bob';
SET ROLE regress_pm_reader;
CREATE INDEX pm_reader_i ON pm_reader_t (secret);
RESET ROLE;
UPDATE pm_who SET ddl_window = (SELECT max(window_id) FROM pgperf.windows) WHERE who = 'reader';
REVOKE CREATE ON SCHEMA public FROM regress_pm_alice, regress_pm_bob, regress_pm_reader;
SELECT who, reason FROM pm_who JOIN pgperf.windows ON window_id = ddl_window
 ORDER BY ddl_window;
SELECT pgperf.mark('pm_after') IS NOT NULL AS t;
SELECT pm_run();
SET ROLE regress_pm_alice;
SELECT pm_run();
SET ROLE regress_pm_bob;
SELECT pm_run();
SET ROLE regress_pm_reader;
SELECT pm_run();
RESET ROLE;
SET pgperf.track = top;

-- each statement ran 10 times with a seq scan and 10 with an index scan
UPDATE pm_who w SET qid = s.queryid
  FROM pgperf.statements s
 WHERE s.userid = w.oid AND s.query = format('SELECT count(*) FROM %I WHERE secret = $1', w.tbl);
SELECT w.who, count(DISTINCT s.planid) AS plans, sum(s.calls) AS calls,
       count(DISTINCT s.window_id) AS windows
  FROM pm_who w JOIN pgperf.statements s ON s.userid = w.oid AND s.queryid = w.qid
 GROUP BY w.who ORDER BY w.who COLLATE "C";

-- pm_observe(): what the current role sees of each role's statement
CREATE TABLE pm_seen (viewer text, owner text, object text, seen text);
GRANT INSERT ON pm_seen TO PUBLIC;
CREATE FUNCTION pm_observe() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  me text := (SELECT who FROM pm_who WHERE rolname = current_user);
  wb int := (SELECT max(window_id) FROM pgperf.windows WHERE label = 'pm_before');
  wa int := (SELECT max(window_id) FROM pgperf.windows WHERE label = 'pm_after');
  rep text := pgperf.report('pm_before', 'pm_after');
  base jsonb := pgperf.baseline();
  w pm_who;
BEGIN
  FOR w IN SELECT * FROM pm_who LOOP
    INSERT INTO pm_seen
    SELECT me, w.who, o.object, coalesce(o.seen, 'no row')
      FROM (VALUES
        -- the views: counters, texts, plans, samples
        ('statements.calls',
         (SELECT CASE sum(calls) WHEN 20 THEN 'shown' ELSE sum(calls)::text END
            FROM pgperf.statements WHERE userid = w.oid AND queryid = w.qid)),
        ('statements.query',
         (SELECT string_agg(DISTINCT CASE WHEN query = '<insufficient privilege>' THEN 'hidden'
                                          WHEN query LIKE '%' || w.tbl || '%' THEN 'shown'
                                          ELSE coalesce(query, 'NULL') END, ', ')
            FROM pgperf.statements WHERE userid = w.oid AND queryid = w.qid)),
        ('plans.plan',
         (SELECT string_agg(DISTINCT CASE WHEN plan = '<insufficient privilege>' THEN 'hidden'
                                          WHEN plan LIKE '%' || w.tbl || '%' THEN 'shown'
                                          ELSE coalesce(plan, 'NULL') END, ', ')
            FROM pgperf.plans WHERE userid = w.oid AND queryid = w.qid)),
        ('plans.sample_query',
         (SELECT string_agg(DISTINCT CASE WHEN sample_query = '<insufficient privilege>' THEN 'hidden'
                                          WHEN sample_query LIKE '%' || w.tbl || '%' THEN 'shown'
                                          ELSE coalesce(sample_query, 'NULL') END, ', ')
            FROM pgperf.plans WHERE userid = w.oid AND queryid = w.qid)),
        ('plans.sample_params',
         (SELECT string_agg(DISTINCT CASE WHEN sample_params = ARRAY[w.param] THEN 'shown'
                                          WHEN sample_params IS NULL THEN 'hidden'
                                          ELSE sample_params::text END, ', ')
            FROM pgperf.plans WHERE userid = w.oid AND queryid = w.qid)),
        ('plans.sample_param_types',
         (SELECT string_agg(DISTINCT CASE WHEN sample_param_types = '{text}' THEN 'shown'
                                          WHEN sample_param_types IS NULL THEN 'hidden'
                                          ELSE sample_param_types::text END, ', ')
            FROM pgperf.plans WHERE userid = w.oid AND queryid = w.qid)),
        ('windows.detail',
         (SELECT CASE WHEN detail = '<insufficient privilege>' THEN 'hidden'
                      WHEN detail LIKE 'CREATE INDEX pm_' || w.who || '_i ON %' THEN 'shown'
                      ELSE coalesce(detail, 'NULL') END
            FROM pgperf.windows WHERE window_id = w.ddl_window)),
        ('plan_changes.query',
         (SELECT string_agg(DISTINCT CASE WHEN query = '<insufficient privilege>' THEN 'hidden'
                                          WHEN query LIKE '%' || w.tbl || '%' THEN 'shown'
                                          ELSE coalesce(query, 'NULL') END, ', ')
            FROM pgperf.plan_changes WHERE userid = w.oid AND queryid = w.qid)),
        -- before/after
        ('compare.query',
         (SELECT CASE WHEN query = '<insufficient privilege>' THEN 'hidden'
                      WHEN query LIKE '%' || w.tbl || '%' THEN 'shown'
                      ELSE coalesce(query, 'NULL') END
            FROM pgperf.compare(wb, wa) WHERE queryid = w.qid)),
        ('compare.reason',
         (SELECT CASE WHEN reason ~ '^plan changed \(planid -?[0-9]+ to -?[0-9]+\)' THEN 'planids only'
                      WHEN reason ~ '^plan changed' AND reason LIKE '%Scan%' THEN 'plan nodes'
                      ELSE reason END
            FROM pgperf.compare('pm_before', 'pm_after') WHERE queryid = w.qid)),
        ('plan_diff',
         (SELECT CASE WHEN bool_or(line = '(the plans of other roles are not visible to you)') THEN 'hidden'
                      WHEN bool_or(line LIKE '+ %Scan using pm_' || w.who || '_i on ' || w.tbl || '%')
                           AND bool_or(line LIKE '- %Seq Scan on ' || w.tbl) THEN 'shown'
                      ELSE string_agg(line, ' | ') END
            FROM pgperf.plan_diff(w.qid, wb, wa) AS line)),
        ('report',
         CASE WHEN rep LIKE '%' || w.tbl || '%' THEN 'shown'
              WHEN rep LIKE '%queryid ' || w.qid || ',%' THEN 'hidden'
              ELSE 'not listed' END),
        ('baseline',
         (SELECT CASE count(*) WHEN 0 THEN 'left out' ELSE 'shown' END
            FROM jsonb_array_elements(base->'statements') AS b(s)
           WHERE b.s->>'query' LIKE '%' || w.tbl || '%' AND b.s->>'plan' LIKE '%' || w.tbl || '%'))
      ) AS o(object, seen);
  END LOOP;
END $$;

SELECT pm_observe();
SET ROLE regress_pm_alice;
SELECT pm_observe();
SET ROLE regress_pm_bob;
SELECT pm_observe();
SET ROLE regress_pm_reader;
SELECT pm_observe();
RESET ROLE;

-- the matrix: a row per viewer and object, a column per owner of the statement
SELECT viewer, object,
       max(seen) FILTER (WHERE owner = 'super') AS super,
       max(seen) FILTER (WHERE owner = 'reader') AS reader,
       max(seen) FILTER (WHERE owner = 'alice') AS alice,
       max(seen) FILTER (WHERE owner = 'bob') AS bob
  FROM pm_seen
 GROUP BY viewer, object
 ORDER BY array_position(ARRAY['super', 'reader', 'alice', 'bob'], viewer),
          array_position(ARRAY['statements.calls', 'statements.query', 'plans.plan',
                               'plans.sample_query', 'plans.sample_params',
                               'plans.sample_param_types', 'windows.detail', 'plan_changes.query',
                               'compare.query', 'compare.reason', 'plan_diff', 'report',
                               'baseline'], object);
-- in short: of other roles' statements, ordinary roles see counters only
SELECT DISTINCT seen FROM pm_seen
 WHERE viewer IN ('alice', 'bob') AND owner <> viewer AND object <> 'statements.calls'
 ORDER BY 1;

-- who may call what: pm_call(q) runs q as the current role and stores "ok"
-- or the SQLSTATE
CREATE TABLE pm_calls (caller text, call text, result text);
GRANT INSERT ON pm_calls TO PUBLIC;
CREATE FUNCTION pm_call(call text, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  res text := 'ok';
BEGIN
  BEGIN
    EXECUTE q;
  EXCEPTION WHEN OTHERS THEN
    res := SQLSTATE;
  END;
  INSERT INTO pm_calls
    VALUES ((SELECT who FROM pm_who WHERE rolname = current_user), call, res);
END $$;
-- pm_calls_run(phase): the calls, each once; 'reset' resets only an entry
-- that does not exist (the permission check comes first)
CREATE FUNCTION pm_calls_run(phase text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pm_call(phase || ': reset()', 'SELECT pgperf.reset(0, 0, 12345)');
  PERFORM pm_call(phase || ': mark()', 'SELECT pgperf.mark()');
  IF phase <> 'default' THEN
    RETURN;
  END IF;
  PERFORM pm_call('plan_shape(SELECT own table)',
                  format('SELECT pgperf.plan_shape(%L)',
                         (SELECT format('SELECT * FROM %I', tbl) FROM pm_who WHERE rolname = current_user)));
  PERFORM pm_call('plan_shape(SELECT alice''s table)', 'SELECT pgperf.plan_shape(''SELECT * FROM pm_alice_t'')');
  PERFORM pm_call('plan_shape(UPDATE alice''s table)', 'SELECT pgperf.plan_shape(''UPDATE pm_alice_t SET pad = pad'')');
  PERFORM pm_call('plan_shape(SELECT alice''s table in a CTE)',
                  'SELECT pgperf.plan_shape(''WITH a AS (SELECT * FROM pm_alice_t) SELECT 1'')');
  PERFORM pm_call('plan_shape(SELECT pgperf.reset())', 'SELECT pgperf.plan_shape(''SELECT pgperf.reset()'')');
END $$;

-- bob may read alice's table, not write it; nobody else may.  (A CTE that
-- is not referenced is not planned, so its table is not checked: the same
-- statement would run as well.)
SET ROLE regress_pm_alice;
GRANT SELECT ON pm_alice_t TO regress_pm_bob;
RESET ROLE;
SELECT pm_calls_run('default');
SET ROLE regress_pm_alice;
SELECT pm_calls_run('default');
SET ROLE regress_pm_bob;
SELECT pm_calls_run('default');
SET ROLE regress_pm_reader;
SELECT pm_calls_run('default');
RESET ROLE;
-- GRANT EXECUTE lets bob (only him) reset and mark
GRANT EXECUTE ON FUNCTION pgperf.reset(oid, oid, bigint), pgperf.mark(text) TO regress_pm_bob;
SELECT pm_calls_run('granted to bob');
SET ROLE regress_pm_reader;
SELECT pm_calls_run('granted to bob');
SET ROLE regress_pm_alice;
SELECT pm_calls_run('granted to bob');
SET ROLE regress_pm_bob;
SELECT pm_calls_run('granted to bob');
RESET ROLE;

SELECT call,
       max(result) FILTER (WHERE caller = 'super') AS super,
       max(result) FILTER (WHERE caller = 'reader') AS reader,
       max(result) FILTER (WHERE caller = 'alice') AS alice,
       max(result) FILTER (WHERE caller = 'bob') AS bob
  FROM pm_calls
 GROUP BY call
 ORDER BY min(ctid);

-- and reset, once granted, is not limited to the caller's own entries (as in
-- pg_stat_statements): bob can forget alice's statement
SELECT count(*) AS alice_entries FROM pgperf.statements s, pm_who w
 WHERE w.who = 'alice' AND s.userid = w.oid AND s.queryid = w.qid;
SET ROLE regress_pm_bob;
SELECT pgperf.reset(w.oid, 0, w.qid) IS NOT NULL AS t FROM pm_who w WHERE w.who = 'alice';
RESET ROLE;
SELECT count(*) AS alice_entries FROM pgperf.statements s, pm_who w
 WHERE w.who = 'alice' AND s.userid = w.oid AND s.queryid = w.qid;
REVOKE EXECUTE ON FUNCTION pgperf.reset(oid, oid, bigint), pgperf.mark(text) FROM regress_pm_bob;

RESET pgperf.compare_min_calls;
DROP FUNCTION pm_run(), pm_observe(), pm_call(text, text), pm_calls_run(text);
DROP TABLE pm_seen, pm_calls, pm_super_t;
DROP OWNED BY regress_pm_alice, regress_pm_bob, regress_pm_reader;
DROP TABLE pm_who;
DROP ROLE regress_pm_alice, regress_pm_bob, regress_pm_reader;
