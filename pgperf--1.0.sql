/* pgperf--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pgperf" to load this file. \quit

GRANT USAGE ON SCHEMA pgperf TO PUBLIC;

-- Capture ------------------------------------------------------------------

CREATE FUNCTION pgperf.get_statements(
    showtext boolean DEFAULT true,
    OUT window_id integer,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel boolean,
    OUT queryid bigint,
    OUT planid bigint,
    OUT query text,
    OUT calls bigint,
    OUT rows bigint,
    OUT total_exec_ms double precision,
    OUT min_exec_ms double precision,
    OUT max_exec_ms double precision,
    OUT mean_exec_ms double precision,
    OUT stddev_exec_ms double precision,
    OUT p50_ms double precision,
    OUT p95_ms double precision,
    OUT p99_ms double precision,
    OUT plans bigint,
    OUT total_plan_ms double precision,
    OUT min_plan_ms double precision,
    OUT max_plan_ms double precision,
    OUT mean_plan_ms double precision,
    OUT stddev_plan_ms double precision,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT blk_read_ms double precision,
    OUT blk_write_ms double precision,
    OUT temp_blk_read_ms double precision,
    OUT temp_blk_write_ms double precision,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT wal_bytes numeric,
    OUT failed_calls bigint,
    OUT failed_ms double precision,
    OUT failed_canceled bigint,
    OUT last_failure_sqlstate text,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT local_blk_read_ms double precision,
    OUT local_blk_write_ms double precision,
    OUT wal_buffers_full bigint,
    OUT parallel_workers_to_launch bigint,
    OUT parallel_workers_launched bigint
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_get_statements'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.statements AS
  SELECT * FROM pgperf.get_statements(true);

CREATE FUNCTION pgperf.get_summary(
    showtext boolean DEFAULT true,
    by_plan boolean DEFAULT true,
    from_window integer DEFAULT NULL,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel boolean,
    OUT queryid bigint,
    OUT planid bigint,
    OUT query text,
    OUT windows integer,
    OUT calls bigint,
    OUT rows bigint,
    OUT total_exec_ms double precision,
    OUT min_exec_ms double precision,
    OUT max_exec_ms double precision,
    OUT mean_exec_ms double precision,
    OUT stddev_exec_ms double precision,
    OUT p50_ms double precision,
    OUT p95_ms double precision,
    OUT p99_ms double precision,
    OUT shared_blks_hit_per_call double precision,
    OUT shared_blks_read_per_call double precision,
    OUT wal_bytes_per_call double precision,
    OUT failed_calls bigint,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_get_summary'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.summary AS
  SELECT * FROM pgperf.get_summary(true);

CREATE FUNCTION pgperf.get_plans(
    showtext boolean DEFAULT true,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT planid bigint,
    OUT calls bigint,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT plan text,
    OUT sample_query text,
    OUT sample_params text[],
    OUT sample_param_types regtype[],
    OUT sample_truncated boolean,
    OUT sample_search_path text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_get_plans'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.plans AS
  SELECT * FROM pgperf.get_plans(true);

CREATE FUNCTION pgperf.get_info(
    OUT entries bigint,
    OUT max_entries bigint,
    OUT plans bigint,
    OUT queries bigint,
    OUT evictions bigint,
    OUT current_window integer,
    OUT windows integer,
    OUT windows_dropped bigint,
    OUT text_area_bytes bigint,
    OUT text_used_bytes bigint,
    OUT text_live_bytes bigint,
    OUT text_compactions bigint,
    OUT texts_dropped bigint,
    OUT stats_since timestamptz
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgperf_get_info'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.info AS
  SELECT * FROM pgperf.get_info();

CREATE FUNCTION pgperf.reset(
    userid oid DEFAULT 0,
    dbid oid DEFAULT 0,
    queryid bigint DEFAULT 0
)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'pgperf_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Windows and before/after ----------------------------------------------

CREATE FUNCTION pgperf.mark(label text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'pgperf_mark'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION pgperf.get_windows(
    OUT window_id integer,
    OUT label text,
    OUT started_at timestamptz,
    OUT ended_at timestamptz,
    OUT reason text,
    OUT detail text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_get_windows'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.windows AS
  SELECT * FROM pgperf.get_windows();

CREATE FUNCTION pgperf.compare(
    before integer DEFAULT NULL,
    after integer DEFAULT NULL,
    OUT queryid bigint,
    OUT query text,
    OUT calls_before bigint,
    OUT calls_after bigint,
    OUT plans_before bigint[],
    OUT plans_after bigint[],
    OUT plan_changed boolean,
    OUT mean_ms_before double precision,
    OUT mean_ms_after double precision,
    OUT p95_ms_before double precision,
    OUT p95_ms_after double precision,
    OUT speedup double precision,
    OUT blks_per_call_before double precision,
    OUT blks_per_call_after double precision,
    OUT reads_per_call_before double precision,
    OUT reads_per_call_after double precision,
    OUT dirtied_per_call_before double precision,
    OUT dirtied_per_call_after double precision,
    OUT wal_bytes_per_call_before double precision,
    OUT wal_bytes_per_call_after double precision,
    OUT failed_before bigint,
    OUT failed_after bigint,
    OUT failed_ms_before double precision,
    OUT failed_ms_after double precision,
    OUT p_value double precision,
    OUT verdict text,
    OUT reason text,
    OUT p50_ms_before double precision,
    OUT p50_ms_after double precision,
    OUT p99_ms_before double precision,
    OUT p99_ms_after double precision,
    OUT before_window integer,
    OUT after_window integer
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_compare'
LANGUAGE C VOLATILE PARALLEL SAFE;

-- by labels (no defaults, so that compare() resolves to the integer form)
CREATE FUNCTION pgperf.compare(
    before text,
    after text,
    OUT queryid bigint,
    OUT query text,
    OUT calls_before bigint,
    OUT calls_after bigint,
    OUT plans_before bigint[],
    OUT plans_after bigint[],
    OUT plan_changed boolean,
    OUT mean_ms_before double precision,
    OUT mean_ms_after double precision,
    OUT p95_ms_before double precision,
    OUT p95_ms_after double precision,
    OUT speedup double precision,
    OUT blks_per_call_before double precision,
    OUT blks_per_call_after double precision,
    OUT reads_per_call_before double precision,
    OUT reads_per_call_after double precision,
    OUT dirtied_per_call_before double precision,
    OUT dirtied_per_call_after double precision,
    OUT wal_bytes_per_call_before double precision,
    OUT wal_bytes_per_call_after double precision,
    OUT failed_before bigint,
    OUT failed_after bigint,
    OUT failed_ms_before double precision,
    OUT failed_ms_after double precision,
    OUT p_value double precision,
    OUT verdict text,
    OUT reason text,
    OUT p50_ms_before double precision,
    OUT p50_ms_after double precision,
    OUT p99_ms_before double precision,
    OUT p99_ms_after double precision,
    OUT before_window integer,
    OUT after_window integer
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_compare_labels'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION pgperf.plan_diff(
    queryid bigint,
    before integer DEFAULT NULL,
    after integer DEFAULT NULL
)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'pgperf_plan_diff'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION pgperf.report(before integer DEFAULT NULL, after integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgperf_report'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION pgperf.report(before text, after text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgperf_report_labels'
LANGUAGE C VOLATILE PARALLEL SAFE;

-- Regression tracking and CI -------------------------------------------------

CREATE FUNCTION pgperf.get_plan_changes(
    OUT detected_at timestamptz,
    OUT window_id integer,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT query text,
    OUT old_planid bigint,
    OUT new_planid bigint,
    OUT old_calls bigint,
    OUT new_calls bigint,
    OUT old_mean_ms double precision,
    OUT new_mean_ms double precision,
    OUT old_p95_ms double precision,
    OUT new_p95_ms double precision,
    OUT old_blks_per_call double precision,
    OUT new_blks_per_call double precision,
    OUT old_failed bigint,
    OUT new_failed bigint,
    OUT speedup double precision,
    OUT p_value double precision,
    OUT status text,
    OUT reason text,
    OUT still_current boolean
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_get_plan_changes'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.plan_changes AS
  SELECT * FROM pgperf.get_plan_changes();

CREATE VIEW pgperf.regressions AS
  SELECT detected_at, window_id, userid, dbid, queryid, query,
         old_planid, new_planid, old_calls, new_calls,
         old_mean_ms, new_mean_ms, old_p95_ms, new_p95_ms,
         CASE WHEN old_mean_ms > 0 THEN new_mean_ms / old_mean_ms END AS slowdown,
         old_failed, new_failed, p_value, reason, still_current
    FROM pgperf.get_plan_changes()
   WHERE status = 'regressed';

CREATE FUNCTION pgperf.plan_shape(sql text, nodes_only boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'pgperf_plan_shape'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A candidate index tried for real on the captured statements that touch its
-- table, and rolled back (see trial.c and the README, "Should I add this
-- index?").  The first fifteen columns are the contract; the rest explain.
CREATE FUNCTION pgperf.try_index(
    ddl text,
    runs integer DEFAULT 5,
    include_writes boolean DEFAULT true,
    keep boolean DEFAULT false,
    hypothetical boolean DEFAULT false,
    OUT queryid bigint,
    OUT query text,
    OUT kind text,
    OUT plan_changed boolean,
    OUT uses_index boolean,
    OUT ms_before double precision,
    OUT ms_after double precision,
    OUT speedup double precision,
    OUT blks_before double precision,
    OUT blks_after double precision,
    OUT wal_bytes_before double precision,
    OUT wal_bytes_after double precision,
    OUT est_cost_before double precision,
    OUT est_cost_after double precision,
    OUT verdict text,
    OUT dirtied_before double precision,
    OUT dirtied_after double precision,
    OUT p_value double precision,
    OUT calls_per_sec double precision,
    OUT saved_ms_per_sec double precision,
    OUT index_bytes bigint,
    OUT build_ms double precision,
    OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_try_index'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The statements of the current database that pgperf has seen (not those
-- calling pgperf itself), as a test suite's baseline: per normalized text,
-- its calls, shared blocks per call, latency percentiles (every execution,
-- its plans' histograms merged), the planids it ran with and the text of the
-- most used plan.  From every window kept, or from the current one only.
-- Texts of other roles are left out unless visible.
CREATE FUNCTION pgperf.baseline(current_window_only boolean DEFAULT false)
RETURNS jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
WITH db AS (
  SELECT oid FROM pg_database WHERE datname = current_database()
), win AS (
  -- NULL: every window kept
  SELECT CASE WHEN current_window_only THEN i.current_window END AS w FROM pgperf.info i
), e AS (
  SELECT s.query, s.queryid, s.planid, s.userid,
         sum(s.calls) AS calls,
         sum(s.shared_blks_hit + s.shared_blks_read) AS blks
    FROM pgperf.statements s
   WHERE s.dbid = (SELECT oid FROM db)
     AND (s.window_id = (SELECT w FROM win) OR (SELECT w FROM win) IS NULL)
     AND s.calls > 0
     AND s.query IS NOT NULL AND s.query <> '<insufficient privilege>'
     AND s.query NOT LIKE '%pgperf.%'
   GROUP BY s.query, s.queryid, s.planid, s.userid
), main AS (
  SELECT DISTINCT ON (e.query) e.query, p.plan
    FROM e JOIN pgperf.plans p
      ON p.queryid = e.queryid AND p.planid = e.planid AND p.userid = e.userid
     AND p.dbid = (SELECT oid FROM db)
   ORDER BY e.query, e.calls DESC
), st AS (
  SELECT e.query, sum(e.calls) AS calls, sum(e.blks) AS blks,
         array_agg(DISTINCT e.planid::text) AS planids
    FROM e GROUP BY e.query
), lat AS (
  -- per text, the statement (role, nesting) that ran it most, all its plans
  SELECT DISTINCT ON (m.query) m.query, m.p50_ms, m.p95_ms, m.p99_ms
    FROM pgperf.get_summary(true, false, (SELECT w FROM win)) m
   WHERE m.dbid = (SELECT oid FROM db) AND m.calls > 0
   ORDER BY m.query, m.calls DESC
)
SELECT jsonb_build_object(
         'pgperf_baseline', 1,
         'statements', coalesce(jsonb_agg(jsonb_build_object(
             'query', st.query,
             'calls', st.calls,
             'blks_per_call', round(st.blks::numeric / st.calls, 2),
             'p50_ms', round(lat.p50_ms::numeric, 3),
             'p95_ms', round(lat.p95_ms::numeric, 3),
             'p99_ms', round(lat.p99_ms::numeric, 3),
             'planids', to_jsonb(ARRAY(SELECT unnest(st.planids) ORDER BY 1)),
             'plan', main.plan)
           ORDER BY st.query), '[]'::jsonb))
  FROM st LEFT JOIN main USING (query) LEFT JOIN lat USING (query)
$$;

-- The problems of the current run against a baseline: one row per statement
-- whose plan changed, whose shared blocks per call grew beyond the tolerance
-- (and by min_blocks at least), whose p95 grew beyond latency_tolerance (when
-- given, for baselines that recorded it), and per statement new or missing.
CREATE FUNCTION pgperf.check_baseline(
    baseline jsonb,
    tolerance double precision DEFAULT 0.25,
    min_blocks double precision DEFAULT 10,
    latency_tolerance double precision DEFAULT NULL,
    current_window_only boolean DEFAULT false)
RETURNS TABLE (queryid bigint, query text, problem text,
               baseline_value text, current_value text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cur jsonb;
BEGIN
  IF baseline IS NULL THEN
    RAISE EXCEPTION 'baseline must not be null'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Make one with pgperf.baseline().';
  END IF;
  IF tolerance IS NULL OR tolerance < 0 OR tolerance = 'NaN'::float8 OR tolerance = 'Infinity'::float8 THEN
    RAISE EXCEPTION 'tolerance must be a finite number of at least 0, not %', coalesce(tolerance::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = '0.25 lets shared blocks per call grow by a quarter before it is a problem.';
  END IF;
  IF min_blocks IS NULL OR min_blocks < 0 OR min_blocks = 'NaN'::float8 OR min_blocks = 'Infinity'::float8 THEN
    RAISE EXCEPTION 'min_blocks must be a finite number of at least 0, not %', coalesce(min_blocks::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = '10 lets shared blocks per call grow by fewer than 10 blocks, whatever the tolerance, before it is a problem.';
  END IF;
  IF latency_tolerance < 0 OR latency_tolerance = 'NaN'::float8 OR latency_tolerance = 'Infinity'::float8 THEN
    RAISE EXCEPTION 'latency_tolerance must be a finite number of at least 0, not %', latency_tolerance
      USING ERRCODE = 'invalid_parameter_value',
            HINT = '0.5 lets p95 grow by half before it is a problem; NULL does not check latency.';
  END IF;
  IF current_window_only IS NULL THEN
    RAISE EXCEPTION 'current_window_only must not be null'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF jsonb_typeof(baseline) IS DISTINCT FROM 'object'
     OR baseline->'pgperf_baseline' IS DISTINCT FROM '1'::jsonb
     OR jsonb_typeof(baseline->'statements') IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'invalid pgperf baseline'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'A baseline is a JSON object with "pgperf_baseline": 1 and a "statements" array.',
            HINT = 'Make one with pgperf.baseline().';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(baseline->'statements') AS b(s)
              WHERE jsonb_typeof(b.s) IS DISTINCT FROM 'object'
                 OR jsonb_typeof(b.s->'query') IS DISTINCT FROM 'string'
                 OR jsonb_typeof(b.s->'planids') IS DISTINCT FROM 'array'
                 OR jsonb_typeof(b.s->'calls') IS DISTINCT FROM 'number'
                 OR jsonb_typeof(b.s->'blks_per_call') IS DISTINCT FROM 'number'
                 OR coalesce(jsonb_typeof(b.s->'p95_ms'), 'null') NOT IN ('number', 'null')) THEN
    RAISE EXCEPTION 'invalid pgperf baseline'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'Every statement needs "query" (a string), "planids" (an array), "calls" and "blks_per_call" (numbers); "p95_ms", if there, is a number or null.',
            HINT = 'Make one with pgperf.baseline().';
  END IF;

  cur := pgperf.baseline(current_window_only);
  RETURN QUERY
  WITH both_runs AS (
    SELECT d.run, x.s->>'query' AS q, (x.s->>'calls')::numeric AS calls,
           (x.s->>'blks_per_call')::numeric AS bpc,
           (x.s->>'p95_ms')::numeric AS p95,
           ARRAY(SELECT jsonb_array_elements_text(x.s->'planids') ORDER BY 1) AS planids,
           x.s->>'plan' AS plan
      FROM (VALUES ('baseline', baseline), ('current', cur)) AS d(run, doc),
           jsonb_array_elements(d.doc->'statements') AS x(s)
  ), b AS (
    SELECT * FROM both_runs WHERE run = 'baseline'
  ), c AS (
    SELECT * FROM both_runs WHERE run = 'current'
  ), ids AS (
    SELECT st.query AS q, min(st.queryid) AS queryid
      FROM pgperf.statements st
     WHERE st.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     GROUP BY st.query
  ), problems AS (
    SELECT b.q, 'missing'::text AS problem, b.calls::text AS bv, NULL::text AS cv
      FROM b LEFT JOIN c ON c.q = b.q WHERE c.q IS NULL
    UNION ALL
    SELECT c.q, 'new', NULL, c.calls::text
      FROM c LEFT JOIN b ON b.q = c.q WHERE b.q IS NULL
    UNION ALL
    SELECT c.q, 'plan_changed',
           coalesce(b.plan, array_to_string(b.planids, ', ')),
           coalesce(c.plan, array_to_string(c.planids, ', '))
      FROM c JOIN b ON b.q = c.q WHERE b.planids <> c.planids
    UNION ALL
    SELECT c.q, 'buffers_grew', b.bpc::text, c.bpc::text
      FROM c JOIN b ON b.q = c.q
     WHERE c.bpc > b.bpc * (1 + tolerance::numeric)
       AND c.bpc - b.bpc >= min_blocks::numeric
    UNION ALL
    SELECT c.q, 'latency_grew', b.p95::text, c.p95::text
      FROM c JOIN b ON b.q = c.q
     WHERE latency_tolerance IS NOT NULL
       AND c.p95 > b.p95 * (1 + latency_tolerance::numeric)
  )
  SELECT ids.queryid, p.q, p.problem, p.bv, p.cv
    FROM problems p LEFT JOIN ids ON ids.q = p.q
   ORDER BY p.problem, p.q;
END
$$;

-- Plan pinning --------------------------------------------------------------

-- One row per pin of this database: what was installed where, so that
-- unpin() removes exactly that.  Dumped with the database (pg_dump).
CREATE TABLE pgperf.pin_store (
    queryid bigint PRIMARY KEY,
    planid bigint NOT NULL,
    userid oid NOT NULL,
    method text NOT NULL CHECK (method IN ('advice', 'hints')),
    enforcement text NOT NULL,
    target text NOT NULL,
    indexes text[] NOT NULL,
    relations text[] NOT NULL,
    pinned_at timestamptz NOT NULL,
    pinned_by name NOT NULL,
    auto boolean NOT NULL,
    replaced_planid bigint,
    replaced_mean_ms double precision,
    broken_reason text
);
SELECT pg_catalog.pg_extension_config_dump('pgperf.pin_store', '');
REVOKE ALL ON pgperf.pin_store FROM PUBLIC;

CREATE FUNCTION pgperf.pin(
    queryid bigint,
    planid bigint,
    OUT queryid bigint,
    OUT planid bigint,
    OUT method text,
    OUT enforcement text,
    OUT pinned_at timestamptz,
    OUT pinned_by text,
    OUT auto boolean,
    OUT status text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgperf_pin'
LANGUAGE C VOLATILE PARALLEL UNSAFE
-- pgperf's own queries (operators included) never resolve through the
-- caller's search_path, which the database's owner may have chosen
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION pgperf.unpin(queryid bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'pgperf_unpin'
LANGUAGE C VOLATILE PARALLEL UNSAFE
-- pgperf's own queries (operators included) never resolve through the
-- caller's search_path, which the database's owner may have chosen
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION pgperf.pin_status(
    queryid bigint,
    planid bigint,
    pinned_at timestamptz,
    method text,
    target text,
    enforcement text,
    indexes text[],
    broken_reason text,
    OUT status text,
    OUT status_reason text,
    OUT calls_pinned bigint,
    OUT calls_other bigint,
    OUT pinned_mean_ms double precision
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgperf_pin_status'
LANGUAGE C VOLATILE PARALLEL UNSAFE
-- pgperf's own queries (operators included) never resolve through the
-- caller's search_path, which the database's owner may have chosen
SET search_path = pg_catalog, pg_temp;

CREATE VIEW pgperf.pins AS
  SELECT p.queryid, p.planid, p.method,
         CASE WHEN v.visible THEN p.enforcement ELSE '<insufficient privilege>' END AS enforcement,
         p.pinned_at, p.pinned_by::text AS pinned_by, p.auto, s.status,
         -- a reason names the plan's indexes, or quotes its sample's values
         CASE WHEN v.visible OR s.status_reason IS NULL THEN s.status_reason
              ELSE '<insufficient privilege>' END AS status_reason,
         s.calls_pinned, s.calls_other, s.pinned_mean_ms, p.userid,
         p.replaced_planid, p.replaced_mean_ms
    FROM pgperf.pin_store p,
         LATERAL (SELECT p.userid = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
                         OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE') AS visible) v,
         LATERAL pgperf.pin_status(p.queryid, p.planid, p.pinned_at, p.method, p.target,
                                   p.enforcement, p.indexes, p.broken_reason) s;

COMMENT ON TABLE pgperf.pin_store IS
  'The pins of this database and what each installed where (read them through pgperf.pins).';
COMMENT ON INDEX pgperf.pin_store_pkey IS
  'One pin per statement (queryid) in a database.';
COMMENT ON FUNCTION pgperf.pin(bigint, bigint) IS
  'Enforces a captured plan of a statement (pg_hint_plan''s hint table, or pg_plan_advice with pg_stash_advice), after checking by replanning that it comes back.';
COMMENT ON FUNCTION pgperf.unpin(bigint) IS
  'Removes the pin of a statement: exactly what pgperf.pin() installed.';
COMMENT ON FUNCTION pgperf.pin_status(bigint, bigint, timestamptz, text, text, text, text[], text) IS
  'The status of a pin (verified, drifted, broken, pending), for pgperf.pins.';
COMMENT ON VIEW pgperf.pins IS
  'Pinned plans of this database: how each is enforced, since when, by whom, and whether executions since ran with it.';

GRANT SELECT ON pgperf.statements, pgperf.summary, pgperf.plans, pgperf.info, pgperf.windows,
  pgperf.plan_changes, pgperf.regressions TO PUBLIC;
GRANT SELECT ON pgperf.pins TO PUBLIC;
-- functions that change state are not for everyone
REVOKE ALL ON FUNCTION pgperf.reset(oid, oid, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgperf.mark(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgperf.try_index(text, integer, boolean, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgperf.pin(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgperf.unpin(bigint) FROM PUBLIC;

-- What each object is, for \df+ and \dv+ (sql/comments.sql checks that none lacks one).
COMMENT ON FUNCTION pgperf.get_statements(boolean) IS
  'Returns the statistics of every statement per window, role, database, nesting and plan (the function behind pgperf.statements; false skips the texts).';
COMMENT ON VIEW pgperf.statements IS
  'Statistics per window, role, database, nesting level, statement (queryid) and plan (planid): calls, time, percentiles, buffers, WAL, failures.';
COMMENT ON FUNCTION pgperf.get_summary(boolean, boolean, integer) IS
  'Returns the statistics of every window kept, or of the windows from from_window on, added up per statement and plan, or per statement with by_plan false (the function behind pgperf.summary).';
COMMENT ON VIEW pgperf.summary IS
  'Statistics of every window kept added up per role, database, nesting level, statement and plan, with percentiles of every execution and blocks and WAL per call.';
COMMENT ON FUNCTION pgperf.get_plans(boolean) IS
  'Returns every captured plan shape of every statement with its plan text and one sample execution (the function behind pgperf.plans).';
COMMENT ON VIEW pgperf.plans IS
  'One row per statement and plan shape: the plan text without costs, its calls over all windows, and the text and parameter values of one real execution.';
COMMENT ON FUNCTION pgperf.get_info() IS
  'Returns how full pgperf''s shared memory is and which window is current (the function behind pgperf.info).';
COMMENT ON VIEW pgperf.info IS
  'One row: entries and records held, evictions, the current window and the windows kept, text area use, and the time of the last full reset.';
COMMENT ON FUNCTION pgperf.reset(oid, oid, bigint) IS
  'Removes the statistics of a role, database or statement (0 matches any), or with no argument everything, opening a reset window.';
COMMENT ON FUNCTION pgperf.mark(text) IS
  'Closes the current window and opens a new one, labelled if a label is given, and returns its id.';
COMMENT ON FUNCTION pgperf.get_windows() IS
  'Returns every window kept with its label, span, reason and detail (the function behind pgperf.windows).';
COMMENT ON VIEW pgperf.windows IS
  'The windows statistics are split into, oldest first: when each started and ended, and why it opened (start, manual, ddl, analyze, settings, reset, pin) with the statement or setting.';
COMMENT ON FUNCTION pgperf.compare(integer, integer) IS
  'Compares two windows by id (by default the previous and the current one) statement by statement, with a verdict and its reason.';
COMMENT ON FUNCTION pgperf.compare(text, text) IS
  'Compares the windows labelled before and after by mark(), statement by statement, with a verdict and its reason.';
COMMENT ON FUNCTION pgperf.plan_diff(bigint, integer, integer) IS
  'Returns the most used plan of a statement in two windows as a line diff.';
COMMENT ON FUNCTION pgperf.report(integer, integer) IS
  'Returns the comparison of two windows by id as a text to read in psql.';
COMMENT ON FUNCTION pgperf.report(text, text) IS
  'Returns the comparison of two windows labelled by mark() as a text to read in psql.';
COMMENT ON FUNCTION pgperf.get_plan_changes() IS
  'Returns every time a statement started running with a plan it had not used before, both plans judged (the function behind pgperf.plan_changes).';
COMMENT ON VIEW pgperf.plan_changes IS
  'Every time a statement started running with a plan new to it, with the old and the new plan''s performance and a status: pending, improved, regressed or unchanged.';
COMMENT ON VIEW pgperf.regressions IS
  'The plan changes that made a statement slower or fail, with the slowdown and its significance.';
COMMENT ON FUNCTION pgperf.plan_shape(text, boolean) IS
  'Returns the plan of one statement without costs, estimates or worker counts, stable enough for a test''s expected file.';
COMMENT ON FUNCTION pgperf.try_index(text, integer, boolean, boolean, boolean) IS
  'Builds one candidate index in a subtransaction, replays the captured statements on its table without and with it, rolls everything back, and judges each statement.';
COMMENT ON FUNCTION pgperf.baseline(boolean) IS
  'Returns the statements of this database as a test suite''s baseline (JSON): per statement its calls, blocks per call, p50/p95/p99, planids and plan.';
COMMENT ON FUNCTION pgperf.check_baseline(jsonb, double precision, double precision, double precision, boolean) IS
  'Lists the problems of this run against a baseline: plans changed, blocks per call or (when asked) p95 grown beyond their tolerance, statements new or missing.';
